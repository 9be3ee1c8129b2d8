"""The suite's checks: one module per requirement family, in catalogue order.

Each check is a pytest test that takes the `target` fixture, carries
`@pytest.mark.requirement(ID)` once, and raises a Violation (via `ensure`) when the target
breaks the rule. Level, title and source come from the catalogue.
"""
