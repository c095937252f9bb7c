"""Writes the messy CSV fixtures (iris as people's files hold it) that the CLI's tabular tests
and the README train on: text labels, an ID column, a text category with a comma in a quoted
value, gaps ("NA" and empty cells), quoted names, reordered columns, no header, `;` and tab.

Deterministic (a fixed seed, the standard library only): `python3 scripts/messy_csvs.py`
rewrites data/iris_messy.csv and cli/tests/data/*.
"""
import csv
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECIES = ["setosa", "versicolor", "virginica"]
SITES = ["north", "south", "east, upper"]

rng = random.Random(11)
rows = []
with open(ROOT / "data/iris.csv") as f:
    for i, r in enumerate(csv.DictReader(f)):
        rows.append({
            "plant id": str(1001 + i),
            "sepal length (cm)": r["sepal_length_cm"],
            "sepal width (cm)": r["sepal_width_cm"],
            "species": SPECIES[int(r["label"])],
            "site": rng.choice(SITES),
            "petal length (cm)": r["petal_length_cm"],
            "petal width (cm)": r["petal_width_cm"],
        })
# Gaps: a few "NA" and empty cells in the numeric columns and the category.
for k in rng.sample(range(len(rows)), 12):
    col = rng.choice(["sepal length (cm)", "sepal width (cm)", "site", "petal width (cm)"])
    rows[k][col] = rng.choice(["NA", ""])
rng.shuffle(rows)
NAMES = list(rows[0].keys())


def write(path, names, rows, delimiter=",", header=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        if header:
            w.writerow(names)
        for r in rows:
            w.writerow([r[n] for n in names])


TESTS = ROOT / "cli/tests/data"
# The README's file: semicolons, as a spreadsheet in many locales saves it.
write(ROOT / "data/iris_messy.csv", NAMES, rows, delimiter=";")
write(TESTS / "flowers.csv", NAMES, rows)
write(TESTS / "flowers_semicolon.csv", NAMES, rows, delimiter=";")
write(TESTS / "flowers.tsv", NAMES, rows, delimiter="\t")
# No header, and no gaps (a headerless file is usually a clean export).
clean = [r for r in rows if all(v not in ("", "NA") for v in r.values())]
write(TESTS / "flowers_noheader.csv", NAMES, clean, header=False)
# New rows to predict on: other column order, an extra column, the target kept, one site
# that training never saw.
new = [dict(r, note="checked") for r in rows[:30]]
new[3] = dict(new[3], site="west")
order = ["note", "petal width (cm)", "site", "species", "sepal width (cm)", "plant id",
         "petal length (cm)", "sepal length (cm)"]
write(TESTS / "flowers_new.csv", order, new)
