"""The suite's checks, one module per requirement family in catalogue order; they may import
`run` (the target session, samples, check context; never the plugin), `transport`, `rules`,
`model` and `drift`.

Each check is a pytest test that takes the `target` fixture, carries
`@pytest.mark.requirement(ID)` once, and raises a Violation (via `ensure`) when the target
breaks the rule; it talks to the target only through the target's client, over the transport
seam. Level, title and source come from the catalogue.
"""
