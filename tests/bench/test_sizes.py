"""``bench sizes``: the objects are the real ones (the engine makes them) and the
extension limit is reported per suite and credential kind."""

from __future__ import annotations

from tlslite_mls.bench.sizes import EXTENSION_LIMIT, run


def test_sizes_of_a_classic_and_the_largest_post_quantum_suite():
    sizes = run([0x0001, 0xF00B])["sizes"]
    classic, pq = sizes["0x0001"], sizes["0xf00b"]
    assert classic["basic"]["key_package"] < 400 < pq["basic"]["key_package"]
    # ML-DSA-87 certificates (7.5 KB each) dominate the x509 figures; all still fit.
    assert pq["x509"]["welcome"] > pq["basic"]["welcome"] + 2 * 14_000
    for kind in ("basic", "x509"):
        m = pq[kind]
        assert m["fits_extension"] == (max(m["key_package"], m["welcome"]) <= EXTENSION_LIMIT)
        assert m["fits_extension"]
        assert m["commit"] > 0
