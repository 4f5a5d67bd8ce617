import re

from gpuready.findings import LABELS
from tests.conftest import ROOT


def test_labels_match_the_taxonomy_exactly():
    text = (ROOT / "tests" / "data" / "taxonomy.md").read_text()
    labels = re.findall(r"^\| ([a-z_]+) \|", text, re.M)
    assert tuple(label for label in labels if label != "label") == LABELS
