import json

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_bench_geo_loads_gurugram_and_reports_lookup_and_gazetteer_rates(capsys):
    call_command("bench", "geo", "--points", "500", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["points"] == 500
    assert out["zones_for_points_per_s"] > 0
    assert out["gazetteer_per_s"] > 0
    assert out["placed"] + out["outside"] + out["unplaced"] == 500
