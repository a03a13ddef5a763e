"""Vigil's domain package: sources -> canonical tables -> store -> derivations -> alerts, listings.

Subpackages: `sources` (pull and validate), `store` (versioned records, runs, results),
`grading` (CTCAE v5.0 labs), `dlt`, `boundaries`, `hyslaw`, `susar`, `listings`, `signals`,
`activity` (PFS), `alerts`, `cycle` (one monitoring cycle), `cli`.
"""
