# SPDX-License-Identifier: ISC
"""Signing certificates that the SNS stand-in serves to ses-feedback in the
attack corpus: each one is wrong in exactly one way (name, dates, key type,
key size), next to a control that is right in every way and made by the
same commands, so that a refusal proves the one property was checked.

The openssl 3.0 command line cannot backdate with `req -x509`, so the
certificates with chosen dates come from `openssl ca` with -startdate and
-enddate and a minimal configuration, issued by the harness's test CA (the
program does not check the issuer of a signing certificate: trust comes
from fetching it over verified HTTPS from the SNS host).
"""
import datetime
import os
import subprocess

CA_CONF = """
[ ca ]
default_ca = attack_ca

[ attack_ca ]
dir             = {dir}
database        = {dir}/index.txt
new_certs_dir   = {dir}/issued
serial          = {dir}/serial
default_md      = sha256
policy          = policy_any
unique_subject  = no
email_in_dn     = no
copy_extensions = none

[ policy_any ]
commonName = supplied
"""


def _ossl(args, **kw):
    r = subprocess.run(["openssl"] + args, capture_output=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args[:2]), r.stderr.decode(errors="replace")))
    return r.stdout


def _stamp(dt):
    return dt.strftime("%Y%m%d%H%M%SZ")


class AttackCerts:
    """name -> (certificate PEM file, private key file). `sign` is the
    harness's own signing certificate (self-signed, CN=sns.amazonaws.com)."""

    def __init__(self, hcerts, directory):
        self.h = hcerts
        self.dir = directory
        os.makedirs(os.path.join(directory, "issued"), exist_ok=True)
        with open(os.path.join(directory, "index.txt"), "w"):
            pass
        with open(os.path.join(directory, "serial"), "w") as f:
            f.write("1000\n")
        self.conf = os.path.join(directory, "ca.cnf")
        with open(self.conf, "w") as f:
            f.write(CA_CONF.format(dir=directory))
        self.files = {
            "sign": (hcerts.sign_cert, hcerts.sign_key),
            "other": (hcerts.other_cert, hcerts.other_key),
            "evil": (hcerts.evil_cert, hcerts.evil_key),   # self-signed, CN=evil.example.com
        }
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        day = datetime.timedelta(days=1)
        ok = (now - day, now + 2 * day)
        k = hcerts.sign_key
        # name: (key, subject CN, SAN list or None, (not before, not after))
        plan = {
            "good_ca": (k, "sns.amazonaws.com", None, ok),
            "good_region_name": (k, "sns.us-east-1.amazonaws.com", None, ok),
            "expired": (k, "sns.amazonaws.com", None,
                        (datetime.datetime(2020, 1, 1), datetime.datetime(2021, 1, 1))),
            "expired_yesterday": (k, "sns.amazonaws.com", None, (now - 10 * day, now - day)),
            "not_yet_valid": (k, "sns.amazonaws.com", None,
                              (datetime.datetime(2090, 1, 1), datetime.datetime(2091, 1, 1))),
            "not_yet_tomorrow": (k, "sns.amazonaws.com", None, (now + day, now + 10 * day)),
            "wrong_name": (k, "sns.amazonaws.com.evil.example", None, ok),
            "san_overrides_cn": (k, "sns.amazonaws.com", ["evil.example.com"], ok),
            "other_region_name": (k, "sns.eu-west-1.amazonaws.com", None, ok),
            "china_name": (k, "sns.amazonaws.com.cn", None, ok),
            "ec_p256": (self._key("ec_p256", ["-algorithm", "EC", "-pkeyopt",
                                              "ec_paramgen_curve:P-256"]),
                        "sns.amazonaws.com", None, ok),
            "rsa1024": (self._key("rsa1024", ["-algorithm", "RSA", "-pkeyopt",
                                              "rsa_keygen_bits:1024"]),
                        "sns.amazonaws.com", None, ok),
        }
        for name, (key, cn, sans, (nb, na)) in plan.items():
            self.files[name] = (self._issue(name, key, cn, sans, nb, na), key)

    def _key(self, name, args):
        path = os.path.join(self.dir, name + ".key")
        _ossl(["genpkey"] + args + ["-out", path])
        return path

    def _issue(self, name, key, cn, sans, not_before, not_after):
        csr = os.path.join(self.dir, name + ".csr")
        crt = os.path.join(self.dir, name + ".pem")
        _ossl(["req", "-new", "-key", key, "-out", csr, "-subj", "/CN=" + cn])
        args = ["ca", "-batch", "-config", self.conf, "-cert", self.h.ca, "-keyfile",
                self.h.ca_key, "-in", csr, "-out", crt, "-notext",
                "-startdate", _stamp(not_before), "-enddate", _stamp(not_after)]
        if sans:
            ext = os.path.join(self.dir, name + ".ext")
            with open(ext, "w") as f:
                f.write("[ san ]\nsubjectAltName=%s\n" % ",".join("DNS:" + s for s in sans))
            args += ["-extfile", ext, "-extensions", "san"]
        _ossl(args)
        return crt

    def key(self, name):
        return self.files[name][1]

    def pem(self, name):
        with open(self.files[name][0], "rb") as f:
            return f.read()

    def der(self, name):
        return _ossl(["x509", "-in", self.files[name][0], "-outform", "DER"])

    def private_pem(self, name):
        with open(self.files[name][1], "rb") as f:
            return f.read()
