from iccc.accounts.models import User


def test_command_lead_sees_staff_of_own_district_only(cast):
    visible = set(User.objects.visible_to(cast.lead))
    assert cast.operator_a in visible
    assert cast.other_district_lead not in visible


def test_operator_sees_only_self_in_staff_list(cast):
    assert list(User.objects.visible_to(cast.operator_a)) == [cast.operator_a]
