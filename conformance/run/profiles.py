"""Budgets of the named run profiles (fuzz examples, chain length, concurrency)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_PROFILE", "PROFILES", "Profile"]


@dataclass(frozen=True)
class Profile:
    name: str
    fuzz_examples: int      # generated tokens per fuzz campaign (FZ-01), in batches
    chain_length: int       # refreshes in a chain (RT-13)
    concurrency: int        # simultaneous refreshes with one token (RT-14)
    race_rounds: int        # bursts repeated, since a race shows only sometimes (RT-14)
    entropy_sample: int     # tokens sampled for the guessing estimate (RT-15, RT-16)
    # Longest token of FZ-01's "very long" family: below FZ-06's 64 KiB, from where a server may
    # also answer RESOURCE_EXHAUSTED (a message-size limit), which FZ-01 does not allow.
    fuzz_max_length: int
    # The longest RT-21 waits for an access token to expire (--expiry-wait overrides it).
    expiry_wait: float = 30.0


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile("quick", fuzz_examples=60, chain_length=3, concurrency=8, race_rounds=2,
                entropy_sample=8, fuzz_max_length=8 * 1024, expiry_wait=10.0),
        Profile("standard", fuzz_examples=300, chain_length=5, concurrency=8, race_rounds=4,
                entropy_sample=16, fuzz_max_length=16 * 1024, expiry_wait=30.0),
        Profile("nightly", fuzz_examples=3000, chain_length=20, concurrency=16, race_rounds=10,
                entropy_sample=64, fuzz_max_length=48 * 1024, expiry_wait=300.0),
    )
}
DEFAULT_PROFILE = "standard"
