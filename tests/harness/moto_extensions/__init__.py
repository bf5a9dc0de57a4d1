"""Operations moto lacks, added to its backend with AWS's documented semantics.

Each module here defines `install() -> None`, which patches moto's in-process backend (the server runs in the
test process, so the patch reaches it). `tests/harness/aws.py` installs every module before the server starts.
"""
