#!/usr/bin/env python3
"""Looks at an S3 server from outside TransferTools (boto3), for the S3 tests.

usage: s3-admin.py ENDPOINT ACCESS SECRET COMMAND ARGS...
  mkbucket B | head B K | put B K FILE | putsha B K FILE SHA | fill B PREFIX COUNT | uploads B | parts B K UPLOADID
Prints JSON.
"""
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

endpoint, access, secret, command, *args = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access, aws_secret_access_key=secret, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                                response_checksum_validation="when_required", max_pool_connections=16))
if command == "mkbucket":
    s3.create_bucket(Bucket=args[0])
    print(json.dumps({"ok": True}))
elif command == "head":
    h = s3.head_object(Bucket=args[0], Key=args[1])
    print(json.dumps({"size": h["ContentLength"], "etag": h["ETag"], "metadata": h.get("Metadata", {})}))
elif command == "put":
    with open(args[2], "rb") as f:
        s3.put_object(Bucket=args[0], Key=args[1], Body=f.read())
    print(json.dumps({"ok": True}))
elif command == "putsha":
    with open(args[2], "rb") as f:
        s3.put_object(Bucket=args[0], Key=args[1], Body=f.read(), Metadata={"sha256": args[3]})
    print(json.dumps({"ok": True}))
elif command == "fill":
    bucket, prefix, count = args[0], args[1], int(args[2])
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"{prefix}{i:05d} {i:032x}", Body=b"x"), range(count)))
    print(json.dumps({"ok": True}))
elif command == "uploads":
    r = s3.list_multipart_uploads(Bucket=args[0])
    print(json.dumps([{"key": u["Key"], "id": u["UploadId"]} for u in r.get("Uploads", [])]))
elif command == "parts":
    r = s3.list_parts(Bucket=args[0], Key=args[1], UploadId=args[2])
    print(json.dumps([{"n": p["PartNumber"], "size": p["Size"], "etag": p["ETag"]} for p in r.get("Parts", [])]))
else:
    sys.exit("unknown command " + command)
