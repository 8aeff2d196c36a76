#!/usr/bin/env python3
"""botocore as the oracle for the SSO provider.

    HOME=... AWS_CONFIG_FILE=... AWS_ENDPOINT_URL_SSO=... \
      python3 spec/oracle/botocore_creds.py PROFILE NOW_EPOCH

Runs botocore's SSOProvider (with its SSOTokenProvider and the token cache
under $HOME/.aws/sso/cache, as `aws` uses them) for PROFILE, with the token
provider's clock fixed at NOW_EPOCH, and prints one JSON line:
{"access_key", "secret_key", "token", "expiry"} or {"error", "message"}.
Exits 3 when botocore cannot be imported.
"""
import datetime
import json
import os
import sys

try:
    from dateutil.tz import tzutc
    import botocore.session
    import botocore.credentials as bc
    import botocore.tokens as bt
    from botocore.utils import JSONFileCache
except ImportError:
    sys.exit(3)

profile, now = sys.argv[1], float(sys.argv[2])


def fixed():
    return datetime.datetime.fromtimestamp(now, tzutc())


session = botocore.session.Session(profile=profile)
cache_dir = os.path.join(os.environ["HOME"], ".aws", "sso", "cache")
token_provider = bt.SSOTokenProvider(
    session, cache=JSONFileCache(cache_dir, dumps_func=bt._sso_json_dumps),
    time_fetcher=fixed, profile_name=profile)
provider = bc.SSOProvider(
    load_config=lambda: session.full_config, client_creator=session.create_client,
    profile_name=profile, token_cache=JSONFileCache(cache_dir),
    token_provider=token_provider)
try:
    creds = provider.load()
    if creds is None:
        print(json.dumps({"none": True}))
        sys.exit(0)
    frozen = creds.get_frozen_credentials()
    expiry = creds._expiry_time.timestamp() if creds._expiry_time else None
    print(json.dumps({"access_key": frozen.access_key, "secret_key": frozen.secret_key,
                      "token": frozen.token, "expiry": expiry}))
except Exception as e:  # noqa: BLE001 - the class name is the answer
    print(json.dumps({"error": type(e).__name__, "message": str(e)}))
