"""OK's signature rule, checked on the worked example published with a maintained OK client
(aiookru's documentation, konstantintogoi.github.io/aiookru/api), for the client and the sandbox
alike: the two are written apart so that one mistake cannot hide in both."""

from __future__ import annotations

import pytest

from gospublic.ok.signing import sign, signing_secret
from sandbox.ok_server.signing import expected_signatures

APPLICATION_KEY = "ABCDEFGHIGKLMNOPK"
APPLICATION_SECRET = "ABC123DEF456GHI789JKL123"
ACCESS_TOKEN = "-s-84W-s3egarWUsbkq-IWTucuedzTKT8VUXIA.s4Xx8IW7"
SESSION_SECRET = "ae5362b5b588cc7294c2414d71b74d5d"
PARAMS = {"application_key": APPLICATION_KEY, "format": "json", "method": "events.get"}


def test_server_server_signature_matches_the_published_example() -> None:
    secret = signing_secret(
        application_secret_key=APPLICATION_SECRET, access_token=ACCESS_TOKEN, session_secret_key=None
    )
    assert secret == "b1a2b89707a94624c43afae67d59274c"  # MD5(access_token + application_secret_key)
    assert sign({**PARAMS, "access_token": ACCESS_TOKEN}, secret) == "232c8eb921951c4dba9b72606f9ddb4c"
    assert "232c8eb921951c4dba9b72606f9ddb4c" in expected_signatures(
        {**PARAMS, "access_token": ACCESS_TOKEN}, APPLICATION_SECRET
    )


def test_client_server_signature_matches_the_published_example() -> None:
    secret = signing_secret(
        application_secret_key=None, access_token=ACCESS_TOKEN, session_secret_key=SESSION_SECRET
    )
    assert sign(PARAMS, secret) == "03a41413523ea8092507949d6e711963"
    assert "03a41413523ea8092507949d6e711963" in expected_signatures(
        {**PARAMS, "access_token": ACCESS_TOKEN}, "another application secret", SESSION_SECRET
    )


def test_the_signature_covers_every_parameter_but_the_token() -> None:
    secret = "s3cr3t"
    base = sign(PARAMS, secret)
    assert sign({**PARAMS, "access_token": "x"}, secret) == base  # the token is not signed
    assert sign({**PARAMS, "sig": "whatever"}, secret) == base
    assert sign({**PARAMS, "count": "10"}, secret) != base
    assert sign({**PARAMS, "method": "events.getX"}, secret) != base
    assert sign(PARAMS, secret + "x") != base


def test_a_call_without_a_session_is_signed_with_the_application_secret() -> None:
    assert signing_secret(application_secret_key="A", access_token=None, session_secret_key=None) == "A"
    with pytest.raises(ValueError, match="application_secret_key"):
        signing_secret(application_secret_key=None, access_token=None, session_secret_key="S")
