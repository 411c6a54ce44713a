# SPDX-License-Identifier: ISC
"""Feed the SES mailbox simulator cases, signed like SNS, to a running
ses-feedback endpoint, and print what it answered.

    python3 tests/demo_feed.py --key SIGNING.key --url http://127.0.0.1:8080/sns/ses-feedback
"""
import argparse
import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sns_signer as S  # noqa: E402

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "ses")
CASES = ["success", "bounce", "ooto", "complaint", "suppressionlist"]

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--key", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--topic", default="arn:aws:sns:us-east-1:123456789012:ses-feedback-demo")
    a = ap.parse_args()
    bad = 0
    for case in CASES:
        with open(os.path.join(FIX, "sim-%s.json" % case)) as f:
            env = S.sign(S.envelope(a.topic, f.read()), a.key)
        req = urllib.request.Request(a.url, data=json.dumps(env).encode(), method="POST",
                                     headers=S.headers_for(env))
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                status, body = r.status, r.read().decode().strip()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read().decode().strip()
        print("%-16s %s@simulator.amazonses.com -> HTTP %d %s" % (case, case, status, body))
        bad += status != 200
    sys.exit(1 if bad else 0)
