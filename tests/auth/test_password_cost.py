"""Passwords are hashed at the production cost everywhere but in this test suite's own process
(tests/conftest.py lowers it for speed): the cost shipped is checked in a fresh interpreter."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.auth.passwords import verify_password

ROOT = Path(__file__).resolve().parents[2]


def test_a_password_is_hashed_with_scrypt_at_n_2_14_r_8_p_1_outside_the_tests():
    out = subprocess.run(
        [sys.executable, "-c", "from engine.auth.passwords import hash_password, verify_password\n"
         "h = hash_password('correct horse 1')\n"
         "print(h.split('$')[1:4], verify_password('correct horse 1', h), verify_password('x', h))"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert out == "['16384', '8', '1'] True False"


def test_the_suite_verifies_hashes_made_at_the_production_cost():
    """A hash carries its cost: one made at N=2**14 still verifies under the suite's lower N."""
    out = subprocess.run(
        [sys.executable, "-c", "from engine.auth.passwords import hash_password\n"
         "print(hash_password('correct horse 1'))"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert out.split("$")[1] == "16384"
    assert verify_password("correct horse 1", out) and not verify_password("correct horse 2", out)
