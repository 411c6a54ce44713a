# SPDX-License-Identifier: ISC
"""A local HTTPS server standing in for the Amazon SNS hosts, for the
quickstart demo and for manual testing: serves the demo signing certificate
and answers ConfirmSubscription. Makes its CA and keys in DIR on first use.

    python3 tests/sns_standin.py --dir DIR --port 8443
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "integration"))
import harness as H  # noqa: E402

CERT_ID = "0123456789abcdef0123456789abcdef"

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=8443)
    ap.add_argument("--init-only", action="store_true")
    a = ap.parse_args()
    certs = H.Certs(directory=a.dir)
    if a.init_only:
        sys.exit(0)
    sns = H.FakeSNS(certs, port=a.port)
    sns.serve_pem(CERT_ID, certs.sign_cert)
    print("SNS stand-in on 127.0.0.1:%d; CONNECT_TO: %s" % (sns.port, sns.connect_to()),
          flush=True)
    while True:
        time.sleep(3600)
