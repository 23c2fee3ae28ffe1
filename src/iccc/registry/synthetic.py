"""Realistic synthetic ICMR line lists for Gurugram: for the benchmark, the tests and the demo.

Names come from many regions and religions of India with the spelling variants labs
really produce ("Mohd"/"Mohammad", "Kumar"/"Kumaar", "Pradeep"/"Pardeep"); addresses
use real Gurugram sectors, colonies and villages (localities from OpenStreetMap, ODbL,
see data/gurugram/README.md); labs are ones that tested in Gurugram in 2020-21.

About 3% of rows are duplicates (a re-sent SRF ID, or the same person with a new SRF
ID and a respelled name) and 1% are bad in one of the ways real files are bad. The
generator is deterministic for a seed; `start_index` keeps SRF IDs unique across calls
(the demo simulator asks for a few rows at a time).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import IO

HEADERS = (
    "SRF ID", "ICMR ID", "Patient Name", "Age", "Gender", "Mobile Number", "Address", "District",
    "Sample Collection Date", "Result Date", "Result", "Lab Name", "Test Type", "Symptomatic",
)  # fmt: skip

MALE = (
    "Ravi", "Rajesh", "Suresh", "Ramesh", "Amit", "Sumit", "Vikas", "Sandeep", "Pradeep", "Manoj", "Anil", "Sunil",
    "Deepak", "Rahul", "Rohit", "Ajay", "Vijay", "Sanjay", "Mukesh", "Naresh", "Dinesh", "Rakesh", "Ashok", "Vinod",
    "Gurpreet", "Harpreet", "Jaspreet", "Manpreet", "Baljeet", "Kuldeep", "Irfan", "Imran", "Salman", "Arif",
    "Aslam", "Javed", "Shahid", "Rizwan", "Faizan", "Joseph", "Thomas", "George", "Anthony", "Venkatesh", "Srinivas",
    "Karthik", "Arjun", "Subramaniam", "Prakash", "Ganesh", "Sourav", "Subhash", "Debashish", "Arnab", "Biswajit",
    "Narendra", "Surendra", "Jitendra", "Yogesh", "Mahesh", "Hitesh", "Kunal", "Nikhil", "Abhishek", "Ankit",
    "Gaurav", "Saurabh", "Vivek", "Varun", "Tarun", "Pankaj", "Neeraj", "Vishal", "Akash", "Aditya", "Harsh",
)  # fmt: skip
FEMALE = (
    "Sunita", "Anita", "Kavita", "Savita", "Geeta", "Seema", "Neeta", "Pooja", "Priya", "Neha", "Sneha", "Anjali",
    "Rekha", "Suman", "Poonam", "Kiran", "Manju", "Usha", "Asha", "Meena", "Reena", "Jyoti", "Preeti", "Shweta",
    "Harjeet", "Simran", "Gurleen", "Parminder", "Fatima", "Ayesha", "Nazia", "Shabana", "Rukhsar", "Farah",
    "Mary", "Elizabeth", "Lakshmi", "Saraswati", "Padma", "Revathi", "Meenakshi", "Sushmita", "Moumita",
    "Rituparna", "Payal", "Divya", "Shalini", "Nidhi", "Ritu", "Sonia", "Monika", "Kajal", "Komal", "Swati",
)  # fmt: skip
SURNAMES = (
    "Sharma", "Verma", "Gupta", "Yadav", "Singh", "Kumar", "Chauhan", "Rawat", "Saini", "Jangra", "Dahiya", "Malik",
    "Hooda", "Sangwan", "Khatri", "Arora", "Ahuja", "Bansal", "Goyal", "Mittal", "Aggarwal", "Jain", "Sethi",
    "Kapoor", "Khanna", "Malhotra", "Gill", "Sandhu", "Dhillon", "Grewal", "Khan", "Ansari", "Qureshi", "Siddiqui",
    "Shaikh", "Mirza", "D'Souza", "Fernandes", "Thomas", "Nair", "Menon", "Pillai", "Iyer", "Reddy", "Rao", "Naidu",
    "Das", "Ghosh", "Banerjee", "Chatterjee", "Mukherjee", "Bose", "Patel", "Shah", "Mehta", "Desai", "Joshi",
    "Pandey", "Mishra", "Tiwari", "Dubey", "Shukla", "Chaudhary", "Thakur", "Rathore", "Bhardwaj", "Tanwar",
)  # fmt: skip
# Spelling variants a second lab (or a second clerk) writes for the same name.
VARIANTS = {
    "Kumar": ("Kumaar", "Kr."), "Singh": ("Sing",), "Sharma": ("Sarma",), "Mohammad": ("Mohd", "Md.", "Mohammed"),
    "Pradeep": ("Pardeep", "Pradip"), "Sandeep": ("Sandip",), "Neeraj": ("Niraj",), "Pooja": ("Puja",),
    "Vikas": ("Wikas",), "Deepak": ("Dipak",), "Praveen": ("Parveen",), "Preeti": ("Priti",), "Geeta": ("Gita",),
    "Seema": ("Sima",), "Aggarwal": ("Agarwal",), "Chaudhary": ("Choudhary", "Chaudhry"), "Yadav": ("Yadaw",),
    "Sunita": ("Suneeta",), "Jyoti": ("Jyotee",), "Shweta": ("Sweta",), "Ravi": ("Ravee",),
}  # fmt: skip
# Real Gurugram places (data/gurugram/localities.csv) with their coordinates.
PLACES = (
    "Sector 1", "Sector 4", "Sector 9", "Sector 10A", "Sector 12", "Sector 14", "Sector 15", "Sector 17", "Sector 21",
    "Sector 23", "Sector 29", "Sector 31", "Sector 38", "Sector 43", "Sector 45", "Sector 47", "Sector 49",
    "Sector 52", "Sector 56", "Sector 57", "Sector 65", "Sector 67", "Sector 70", "Sector 81", "Sector 84",
    "Sector 86", "Sector 89", "Sector 95", "Sector 99", "Sector 102", "Sector 104", "Sector 108", "Sector 111",
    "DLF Cyber City", "Sushant Lok I", "Sushant Lok II", "South City I", "South City II", "Palam Vihar",
    "Nirvana Country", "Mayfield Garden", "Vipul World", "New Colony", "Shivaji Nagar", "IMT Manesar", "Islampur",
    "Sirhaul", "Nathupur", "Sikanderpur", "Wazirabad", "Gwal Pahari", "Naharpur Rupa", "Sohna", "Pataudi",
    "Farrukhnagar", "Manesar", "Haily Mandi", "Badshahpur",
)  # fmt: skip
STREETS = ("Main Road", "Gali No. 3", "near Sohna Road", "near Shiv Mandir", "opp. Govt School", "Block B", "Block C")
LABS = (
    "Civil Hospital Gurugram", "ESIC Hospital Sector 9A", "Medanta - The Medicity",
    "Fortis Memorial Research Institute",
    "Artemis Hospital", "Dr Lal PathLabs", "SRL Diagnostics", "Core Diagnostics", "Oncquest Laboratories",
    "Thyrocare", "Max Lab Gurugram", "Strand Life Sciences", "Genestrings Diagnostic Centre",
)  # fmt: skip
TEST_TYPES = (("RT-PCR", 70), ("RAT", 25), ("TrueNat", 3), ("CBNAAT", 2))
OUTSIDE = ("Faridabad", "Rewari", "Jhajjar", "South West Delhi")


def _spell(name: str, rng: random.Random) -> str:
    """Another way a lab may write the same name."""
    out = []
    for word in name.split():
        alts = VARIANTS.get(word.rstrip("."))
        out.append(rng.choice(alts) if alts and rng.random() < 0.8 else word)
    words = out
    if len(words) > 1 and rng.random() < 0.2:
        words = [*words[1:], words[0]]  # "Kumar Ravi"
    text = " ".join(words)
    return text.upper() if rng.random() < 0.1 else text


def _person(rng: random.Random) -> dict[str, str]:
    female = rng.random() < 0.45
    first = rng.choice(FEMALE if female else MALE)
    if not female and rng.random() < 0.06:
        first = rng.choice(("Mohammad", "Mohd", "Md.")) + " " + rng.choice(("Irfan", "Aslam", "Salim", "Arif"))
    middle = ""
    if not female and rng.random() < 0.25:
        middle = " Kumar"
    surname = rng.choice(SURNAMES)
    if rng.random() < 0.08:
        surname = "Devi" if female else "Singh"
    title = ""
    if rng.random() < 0.05:
        title = rng.choice(("Smt. ", "Mrs ")) if female else rng.choice(("Mr ", "Shri "))
    age = max(0, min(98, int(rng.gauss(38, 16))))
    mobile = f"{rng.choice('6789')}{rng.randrange(10**8, 10**9)}"
    phone = rng.choice((mobile, mobile, mobile, f"+91 {mobile[:5]} {mobile[5:]}", f"0{mobile}", f"91-{mobile}"))
    place = rng.choice(PLACES)
    house = rng.choice(("H.No", "House No.", "H No", "Flat", "#"))
    address = f"{house} {rng.randrange(1, 2500)}, {rng.choice(STREETS)}, {place}, Gurugram"
    if rng.random() < 0.15:
        address = f"{place}, Gurgaon"
    return {
        "Patient Name": f"{title}{first}{middle} {surname}",
        "Age": str(age),
        "Gender": ("F" if female else "M") if rng.random() < 0.7 else ("Female" if female else "Male"),
        "Mobile Number": phone,
        "Address": address,
        "District": rng.choice(("Gurugram", "Gurugram", "Gurgaon", "")),
    }


def _weighted(options: tuple[tuple[str, int], ...], rng: random.Random) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _fmt(d: date, rng: random.Random) -> str:
    return d.strftime("%d/%m/%Y") if rng.random() < 0.85 else d.strftime("%d-%b-%Y")


def _bad(row: dict[str, str], rng: random.Random, result_date: date) -> dict[str, str]:
    """Spoil one row in one of the ways real line lists are spoiled."""
    kind = rng.randrange(10)
    if kind == 0:
        row["Result Date"] = "31/02/2021"
    elif kind == 1:
        row["Mobile Number"] = rng.choice(("1950", "108", "0000000000", "+91 98765 4321", "9999999999", ""))
    elif kind == 2:
        row["Result"] = rng.choice(("Negative", "NEG", "Not Detected"))
    elif kind == 3:
        row["District"] = rng.choice(OUTSIDE)
    elif kind == 4:
        row["Patient Name"] = ""
    elif kind == 5:
        row["Result Date"] = (result_date + timedelta(days=40)).strftime("%d/%m/%Y")
    elif kind == 6:
        row["Sample Collection Date"] = (result_date + timedelta(days=3)).strftime("%d/%m/%Y")
    elif kind == 7:
        row["Age"] = rng.choice(("abc", "250", "-"))
    elif kind == 8:
        row["SRF ID"] = ""
    else:
        row["Result Date"] = "15/13/2019"
    return row


def iter_rows(
    n: int, *, seed: int = 0, result_date: date | None = None, start_index: int = 0
) -> Iterator[dict[str, str]]:
    """Yield `n` line-list rows (dicts keyed by HEADERS), ~3% duplicates and ~1% bad rows."""
    rng = random.Random(seed * 1_000_003 + start_index)
    result_date = result_date or date(2021, 4, 29)
    recent: list[dict[str, str]] = []  # a window of earlier rows to duplicate from (bounded memory)
    for i in range(n):
        index = start_index + i
        roll = rng.random()
        if recent and roll < 0.015:
            row = dict(rng.choice(recent))  # the same SRF re-sent by the lab
            if rng.random() < 0.5:
                row["Patient Name"] = _spell(row["Patient Name"], rng)
        elif recent and roll < 0.03:
            earlier = rng.choice(recent)  # the same person, a new test: new SRF ID, respelled name
            row = dict(earlier)
            row["SRF ID"] = f"06{index:011d}"
            row["ICMR ID"] = f"ICMR{index:09d}"
            row["Patient Name"] = _spell(earlier["Patient Name"], rng)
            if earlier["Age"].isdigit():
                row["Age"] = str(max(0, int(earlier["Age"]) + rng.choice((0, 0, 1, -1))))
        else:
            sample = result_date - timedelta(days=rng.choice((0, 1, 1, 2, 2, 3)))
            row = {
                "SRF ID": f"06{index:011d}",
                "ICMR ID": f"ICMR{index:09d}",
                **_person(rng),
                "Sample Collection Date": _fmt(sample, rng),
                "Result Date": _fmt(result_date, rng),
                "Result": rng.choice(("Positive", "Positive", "POSITIVE", "Detected", "POS")),
                "Lab Name": rng.choice(LABS),
                "Test Type": _weighted(TEST_TYPES, rng),
                "Symptomatic": rng.choice(("Yes", "No", "No", "")),
            }
            if rng.random() < 0.05 and recent:  # a family member: same phone and address, another name
                relative = rng.choice(recent)
                row["Mobile Number"] = relative["Mobile Number"]
                row["Address"] = relative["Address"]
            if rng.random() < 0.01:
                row = _bad(row, rng, result_date)
            recent.append(row)
            if len(recent) > 2000:
                recent.pop(rng.randrange(len(recent)))
        yield {h: row.get(h, "") for h in HEADERS}


def generate_rows(
    n: int, *, seed: int = 0, result_date: date | None = None, start_index: int = 0
) -> list[dict[str, str]]:
    """`n` rows as a list of dicts with the CSV header names (used by the demo simulator)."""
    return list(iter_rows(n, seed=seed, result_date=result_date, start_index=start_index))


def write_csv(
    target: str | Path | IO[str], n: int, *, seed: int = 0, result_date: date | None = None, start_index: int = 0
) -> None:
    """Write a line list of `n` rows as CSV (streamed: memory does not grow with n)."""
    if isinstance(target, (str, Path)):
        with open(target, "w", newline="", encoding="utf-8") as fh:
            write_csv(fh, n, seed=seed, result_date=result_date, start_index=start_index)
        return
    writer = csv.DictWriter(target, fieldnames=HEADERS)
    writer.writeheader()
    for row in iter_rows(n, seed=seed, result_date=result_date, start_index=start_index):
        writer.writerow(row)
