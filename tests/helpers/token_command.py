"""A token command for the self-tests: logs in to a reference server and prints the JSON the
suite's `--token-command` source reads. Address, email and password come from the environment."""

import json
import os
import sys

from conformance.transport.client import ChannelSettings, UserApiClient

client = UserApiClient(ChannelSettings(os.environ["TC_ADDRESS"], plaintext=True, deadline=5))
reply = client.login(os.environ["TC_EMAIL"], os.environ["TC_PASSWORD"])
if not reply.ok or reply.response is None:
    print(f"login failed: {reply.code.name}", file=sys.stderr)
    sys.exit(1)
token = reply.response.auth_token
print(json.dumps({"refresh_token": token.refresh_token, "access_token": token.token}))
