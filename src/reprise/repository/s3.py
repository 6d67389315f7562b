"""A repository in S3-compatible object storage (AWS, MinIO, Ceph, Scaleway, OVH…).

Credentials come from the environment (AWS_ACCESS_KEY_ID…, profiles, instance roles), never
from the plan. Large objects go up as multipart uploads of ``part_size``, one part in
memory at a time; an object becomes visible only when its upload completes, so an
interrupted upload leaves nothing under its key (and is aborted when we can).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO

from reprise.errors import OperationError
from reprise.repository.backend import NotFoundError, ObjectInfo, check_key

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

    from reprise.plan.model import S3Repository


def s3_error(error: Exception, where: str, doing: str) -> OperationError:
    """One clear message for a failed S3 call, with the usual fix."""
    from botocore.exceptions import ClientError, NoCredentialsError

    if isinstance(error, NoCredentialsError):
        return OperationError(
            f"{where}: no S3 credentials found",
            hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a "
            "profile) in the environment or the plan's .env",
        )
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "?")
        message = error.response.get("Error", {}).get("Message", "")
        hints = {
            "NoSuchBucket": "create the bucket, or fix `bucket` in the plan",
            "AccessDenied": "the credentials lack permission on this bucket/prefix",
            "InvalidAccessKeyId": "check AWS_ACCESS_KEY_ID",
            "SignatureDoesNotMatch": "check AWS_SECRET_ACCESS_KEY",
        }
        return OperationError(
            f"{where}: S3 refused {doing}: {code} {message}".rstrip(),
            hint=hints.get(code),
            retryable=code not in hints,
        )
    return OperationError(
        f"{where}: S3 unreachable while {doing}: {error}",
        hint="check endpoint_url, the network and that the S3 service runs",
        retryable=True,
    )


class _S3Writer:
    def __init__(self, backend: S3Backend, key: str, lock_args: dict[str, Any]) -> None:
        self._backend = backend
        self._key = key
        self._lock_args = lock_args
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._open = True

    def write(self, data: bytes | memoryview, /) -> int:
        assert self._open, "write after commit or abort"
        self._buffer += data
        if len(self._buffer) >= self._backend.part_size:
            self._upload_part()
        return len(data)

    def _call(self, doing: str, function: Any, **kwargs: Any) -> Any:
        try:
            return function(**kwargs)
        except Exception as error:
            self.abort()
            raise s3_error(error, self._backend.where(self._key), doing) from error

    def _upload_part(self) -> None:
        client = self._backend.client
        if self._upload_id is None:
            response = self._call(
                "starting an upload",
                client.create_multipart_upload,
                Bucket=self._backend.bucket,
                Key=self._backend.full(self._key),
                **self._lock_args,
            )
            self._upload_id = response["UploadId"]
        number = len(self._parts) + 1
        # The buffer itself is the body (no copy): memory stays at one part.
        response = self._call(
            "uploading a part",
            client.upload_part,
            Bucket=self._backend.bucket,
            Key=self._backend.full(self._key),
            UploadId=self._upload_id,
            PartNumber=number,
            Body=self._buffer,
        )
        self._buffer.clear()
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def commit(self) -> None:
        assert self._open, "commit after commit or abort"
        client = self._backend.client
        if self._upload_id is None:
            self._call(
                "uploading",
                client.put_object,
                Bucket=self._backend.bucket,
                Key=self._backend.full(self._key),
                Body=self._buffer,
                **self._lock_args,
            )
        else:
            if self._buffer:
                self._upload_part()
            self._call(
                "completing an upload",
                client.complete_multipart_upload,
                Bucket=self._backend.bucket,
                Key=self._backend.full(self._key),
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self._buffer = bytearray()
        self._open = False

    def abort(self) -> None:
        if not self._open:
            return
        self._open = False
        self._buffer = bytearray()
        if self._upload_id is not None:
            # Best effort; a bucket lifecycle rule cleans up what a crash leaves.
            with contextlib.suppress(Exception):
                self._backend.client.abort_multipart_upload(
                    Bucket=self._backend.bucket,
                    Key=self._backend.full(self._key),
                    UploadId=self._upload_id,
                )


class S3Backend:
    """Objects under ``prefix`` in one bucket."""

    def __init__(self, config: S3Repository, *, client: S3Client | None = None) -> None:
        self.bucket = config.bucket
        self.prefix = config.prefix
        self.part_size = config.part_size
        self.object_lock = config.object_lock
        self.description = f"s3://{config.bucket}/{config.prefix}"
        if config.endpoint_url:
            self.description += f" at {config.endpoint_url}"
        self.client = client or _make_client(config)

    def full(self, key: str) -> str:
        """The object's S3 key (with the repository prefix)."""
        return self.prefix + check_key(key)

    def where(self, key: str) -> str:
        """The object's address for messages."""
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def _lock_args(self, immutable: bool) -> dict[str, Any]:
        if not immutable or self.object_lock is None:
            return {}
        until = datetime.now(UTC) + timedelta(days=self.object_lock.days)
        return {"ObjectLockMode": self.object_lock.mode.upper(), "ObjectLockRetainUntilDate": until}

    def open_writer(self, key: str, *, immutable: bool = True) -> _S3Writer:
        """Start an upload; immutable objects get the plan's Object Lock retention."""
        check_key(key)  # a bad key is refused now, as on every backend, not at the upload
        return _S3Writer(self, key, self._lock_args(immutable))

    def put_exclusive(self, key: str, data: bytes) -> bool:
        """Conditional put (If-None-Match: *): False when the key already exists."""
        from botocore.exceptions import ClientError

        name = self.full(key)  # outside the try: a bad key is an InputError, not S3's fault
        try:
            self.client.put_object(Bucket=self.bucket, Key=name, Body=data, IfNoneMatch="*")
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                return False
            raise s3_error(error, self.where(key), "creating a lock") from error
        except Exception as error:
            raise s3_error(error, self.where(key), "creating a lock") from error
        return True

    def open_reader(self, key: str) -> BinaryIO:
        """The object's body as a stream."""
        from botocore.exceptions import ClientError

        name = self.full(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFoundError(key) from error
            raise s3_error(error, self.where(key), "reading") from error
        except Exception as error:
            raise s3_error(error, self.where(key), "reading") from error
        body: BinaryIO = response["Body"]  # type: ignore[assignment]
        return body

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Objects under the prefix, page by page."""
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    yield ObjectInfo(
                        item["Key"][len(self.prefix) :], item["Size"], item["LastModified"]
                    )
        except Exception as error:
            raise s3_error(error, self.where(prefix), "listing") from error

    def stat(self, key: str) -> ObjectInfo | None:
        """HEAD of the object."""
        from botocore.exceptions import ClientError

        name = self.full(key)
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise s3_error(error, self.where(key), "reading") from error
        except Exception as error:
            raise s3_error(error, self.where(key), "reading") from error
        return ObjectInfo(key, response["ContentLength"], response["LastModified"])

    def delete(self, key: str) -> None:
        """Delete the object (refused by S3 while an Object Lock retention holds it)."""
        name = self.full(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=name)
        except Exception as error:
            raise s3_error(error, self.where(key), "deleting") from error


def _make_client(config: S3Repository) -> S3Client:
    import boto3
    from botocore.config import Config

    settings = Config(
        connect_timeout=10, read_timeout=120, retries={"max_attempts": 4, "mode": "standard"}
    )
    return boto3.client(
        "s3", endpoint_url=config.endpoint_url, region_name=config.region, config=settings
    )
