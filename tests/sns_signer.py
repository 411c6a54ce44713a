# SPDX-License-Identifier: ISC
"""Test SNS signer: makes envelopes in the exact format Amazon SNS POSTs to
HTTP(S) endpoints, signed with a key made at test time.

The string to sign is built here independently of the C code (from AWS's
documentation), so a bug in one is not mirrored in the other. Signing runs
in process, through libcrypto (ctypes): no process per message, and
EVP_DigestSign runs without the GIL, so concurrent senders sign in parallel.
"""
import base64
import ctypes
import ctypes.util
import datetime
import json
import threading
import uuid

NOTIFICATION_KEYS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION_KEYS = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                     "TopicArn", "Type"]


def string_to_sign(env):
    keys = NOTIFICATION_KEYS if env["Type"] == "Notification" else CONFIRMATION_KEYS
    out = ""
    for k in keys:
        if k in env and env[k] is not None:
            out += k + "\n" + env[k] + "\n"
    return out.encode("utf-8")


_lib = None


def _libcrypto():
    global _lib
    if _lib is None:
        lib = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
        vp = ctypes.c_void_p
        lib.BIO_new_mem_buf.restype = vp
        lib.BIO_new_mem_buf.argtypes = [ctypes.c_char_p, ctypes.c_int]
        lib.BIO_free.argtypes = [vp]
        lib.PEM_read_bio_PrivateKey.restype = vp
        lib.PEM_read_bio_PrivateKey.argtypes = [vp, vp, vp, vp]
        lib.EVP_PKEY_free.argtypes = [vp]
        lib.EVP_MD_CTX_new.restype = vp
        lib.EVP_MD_CTX_free.argtypes = [vp]
        lib.EVP_sha1.restype = vp
        lib.EVP_sha256.restype = vp
        lib.EVP_DigestSignInit.argtypes = [vp, vp, vp, vp, vp]
        lib.EVP_DigestSign.argtypes = [vp, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t),
                                       ctypes.c_char_p, ctypes.c_size_t]
        _lib = lib
    return _lib


class Signer:
    """RSA signatures with one private key (PEM file), in process:
    SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA."""

    def __init__(self, key_file):
        lib = self.lib = _libcrypto()
        with open(key_file, "rb") as f:
            pem = f.read()
        bio = lib.BIO_new_mem_buf(pem, len(pem))
        if not bio:
            raise RuntimeError("BIO_new_mem_buf failed")
        try:
            self.pkey = lib.PEM_read_bio_PrivateKey(bio, None, None, None)
        finally:
            lib.BIO_free(bio)
        if not self.pkey:
            raise RuntimeError("PEM_read_bio_PrivateKey failed for " + key_file)

    def sign(self, data, version=2):
        """data's signature for SignatureVersion version, base64."""
        lib = self.lib
        md = lib.EVP_sha1() if str(version) == "1" else lib.EVP_sha256()
        ctx = lib.EVP_MD_CTX_new()
        if not ctx:
            raise RuntimeError("EVP_MD_CTX_new failed")
        try:
            if lib.EVP_DigestSignInit(ctx, None, md, None, self.pkey) != 1:
                raise RuntimeError("EVP_DigestSignInit failed")
            n = ctypes.c_size_t(0)
            if lib.EVP_DigestSign(ctx, None, ctypes.byref(n), data, len(data)) != 1:
                raise RuntimeError("EVP_DigestSign (size) failed")
            buf = ctypes.create_string_buffer(n.value)
            if lib.EVP_DigestSign(ctx, buf, ctypes.byref(n), data, len(data)) != 1:
                raise RuntimeError("EVP_DigestSign failed")
            return base64.b64encode(buf.raw[:n.value]).decode("ascii")
        finally:
            lib.EVP_MD_CTX_free(ctx)

    def close(self):
        if self.pkey:
            self.lib.EVP_PKEY_free(self.pkey)
            self.pkey = None


_signers = {}
_signers_lock = threading.Lock()


def signer(key_file):
    """The Signer for key_file, loaded once and kept for the process."""
    with _signers_lock:
        s = _signers.get(key_file)
        if s is None:
            s = _signers[key_file] = Signer(key_file)
        return s


def sign_bytes(key_file, data, version):
    return signer(key_file).sign(data, version)


def region_of(topic_arn):
    return topic_arn.split(":")[3]


def host_for(topic_arn):
    part = topic_arn.split(":")[1]
    suffix = "amazonaws.com.cn" if part == "aws-cn" else "amazonaws.com"
    return "sns.%s.%s" % (region_of(topic_arn), suffix)


def cert_url(topic_arn, cert_id="0123456789abcdef0123456789abcdef"):
    return "https://%s/SimpleNotificationService-%s.pem" % (host_for(topic_arn), cert_id)


def now_timestamp(offset=0.0):
    """SNS's Timestamp for now (plus offset seconds): inside the replay window."""
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def envelope(topic_arn, message, kind="Notification", subject=None, version=2,
             message_id=None, timestamp=None, cert=None,
             token=None, subscribe_url=None):
    """An unsigned envelope dict in SNS's key order."""
    mid = message_id or str(uuid.uuid4())
    env = {"Type": kind, "MessageId": mid}
    if kind != "Notification":
        token = token or ("2336412f37fb687f5d51e6e2425" + uuid.uuid4().hex)
        env["Token"] = token
    env["TopicArn"] = topic_arn
    if kind == "Notification" and subject is not None:
        env["Subject"] = subject
    env["Message"] = message if isinstance(message, str) else json.dumps(message)
    if kind != "Notification":
        env["SubscribeURL"] = subscribe_url or (
            "https://%s/?Action=ConfirmSubscription&TopicArn=%s&Token=%s"
            % (host_for(topic_arn), topic_arn, token))
    env["Timestamp"] = timestamp or now_timestamp()
    env["SignatureVersion"] = str(version)
    env["Signature"] = ""
    env["SigningCertURL"] = cert or cert_url(topic_arn)
    if kind == "Notification":
        env["UnsubscribeURL"] = (
            "https://%s/?Action=Unsubscribe&SubscriptionArn=%s:%s"
            % (host_for(topic_arn), topic_arn, uuid.uuid4()))
    return env


def sign(env, key_file):
    env["Signature"] = sign_bytes(key_file, string_to_sign(env), env["SignatureVersion"])
    return env


def headers_for(env):
    h = {"Content-Type": "text/plain; charset=UTF-8",
         "x-amz-sns-message-type": env.get("Type"),
         "x-amz-sns-message-id": env.get("MessageId"),
         "x-amz-sns-topic-arn": env.get("TopicArn"),
         "User-Agent": "Amazon Simple Notification Service Agent"}
    if env.get("Type") == "Notification" and "TopicArn" in env:
        h["x-amz-sns-subscription-arn"] = env["TopicArn"] + ":c9135db0-26c4-47ec-8998-413945fb5a96"
    return {k: v for k, v in h.items() if v is not None}


if __name__ == "__main__":
    import argparse
    import sys
    ap = argparse.ArgumentParser(description="make a signed SNS envelope")
    ap.add_argument("--key", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--type", default="Notification")
    ap.add_argument("--version", default="2")
    ap.add_argument("--cert-id", default="0123456789abcdef0123456789abcdef")
    ap.add_argument("message_file", help="file with the Message text, - for stdin")
    a = ap.parse_args()
    text = sys.stdin.read() if a.message_file == "-" else open(a.message_file).read()
    e = envelope(a.topic, text, kind=a.type, version=a.version,
                 cert=cert_url(a.topic, a.cert_id))
    print(json.dumps(sign(e, a.key), indent=2))
