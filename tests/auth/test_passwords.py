"""Verifying a password first hands the allocator's free pages back (ADR 0249), and still
answers as before."""

from __future__ import annotations

import platform

import pytest

from tracker.auth import passwords


def test_glibc_has_the_trim_call():
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("malloc_trim is glibc's; other C libraries keep their free pages")
    assert passwords.release_free_heap() is True


def test_verifying_releases_free_heap_before_hashing(app, monkeypatch):
    calls: list[str] = []
    real_release, real_hasher = passwords.release_free_heap, passwords._hasher

    def release() -> bool:
        calls.append("release")
        return real_release()

    class Recording:
        def __init__(self, real):
            self.real = real

        def hash(self, password):
            return self.real.hash(password)

        def verify(self, stored, password):
            calls.append("verify")
            return self.real.verify(stored, password)

    recording = Recording(None)

    def hasher():
        recording.real = real_hasher()
        return recording

    monkeypatch.setattr(passwords, "_DUMMY_HASHES", {})  # the recording hasher's stays here
    monkeypatch.setattr(passwords, "release_free_heap", release)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    with app.app_context():
        stored = real_hasher().hash("correct horse")
        assert passwords.verify_password(stored, "correct horse") is True
        assert passwords.verify_password(stored, "wrong horse") is False
        assert passwords.verify_password(None, "anything") is False
    assert calls == ["release", "verify"] * 3
