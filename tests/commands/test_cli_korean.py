"""The CLI in Korean: `LANG=ko_KR.UTF-8` (or FALLWATCH_LANG=ko) gives Korean help and
messages for `fallwatch user|token` and the top-level help and errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LOCALE_VARS = ("FALLWATCH_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")


def fallwatch(
    *args: object, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    return subprocess.run(
        [sys.executable, "-m", "fallwatch.cli", *map(str, args)],
        capture_output=True,
        text=True,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        env={**clean, **env},
        timeout=120,
    )


def test_help_in_korean_with_a_korean_lang() -> None:
    r = fallwatch("--help", LANG="ko_KR.UTF-8")
    assert r.returncode == 0
    assert "CCTV에서 쓰러진 사람을 찾아 관제실에 알립니다." in r.stdout
    assert "디버그 로그를 출력합니다." in r.stdout
    user = fallwatch("user", "--help", LANG="ko_KR.UTF-8").stdout
    assert "사용자를 추가합니다 (비밀번호를 묻습니다)." in user
    english = fallwatch("--help", LANG="C.UTF-8").stdout
    assert "finds people who collapsed on CCTV" in english and "CCTV에서" not in english


def test_user_and_token_messages_in_korean(tmp_path: Path) -> None:
    config = tmp_path / "fallwatch.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    ko = {"LANG": "ko_KR.UTF-8"}
    # No terminal for the password: a one-line Korean error, no traceback.
    r = fallwatch("user", "add", "nurse", "--config", config, **ko)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "fallwatch: 오류: 비밀번호를 물을 터미널이 없습니다: --password-stdin으로 파이프로 "
        "넘기거나 --password-file 경로를 주십시오"
    )
    r = fallwatch(
        "user", "add", "nurse", "--password-stdin", "--config", config, stdin="long-enough\n", **ko
    )
    assert r.returncode == 0 and r.stdout.strip() == "사용자 'nurse' 추가됨, 역할 viewer"
    r = fallwatch("user", "disable", "nurse", "--config", config, **ko)
    assert r.stdout.strip() == "사용자 'nurse': viewer, 비활성"
    assert fallwatch("token", "list", "--config", config, **ko).stdout.strip() == (
        "활성 API 토큰 없음 (--all 을 주면 폐기된 토큰도 보여 줍니다)"
    )
    # FALLWATCH_LANG wins over LANG, both ways.
    r = fallwatch("token", "list", "--config", config, FALLWATCH_LANG="en", LANG="ko_KR.UTF-8")
    assert r.stdout.strip() == "no active API tokens (--all lists revoked ones)"
    r = fallwatch("token", "revoke", "nope", "--config", config, FALLWATCH_LANG="ko", LANG="C")
    assert r.returncode == 2
    assert (
        r.stderr.strip()
        == "fallwatch: 오류: 활성 API 토큰 'nope' 없음 ('fallwatch token list' 참고)"
    )


def test_config_check_in_korean(tmp_path: Path) -> None:
    config = tmp_path / "fallwatch.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    r = fallwatch("config", "check", "--config", config, LANG="ko_KR.UTF-8")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (
        f"{config}: 정상: 카메라 0대 (0대 사용), 알림 채널 0개, 데이터 위치 {tmp_path / 'data'}"
    )
    other = tmp_path / "other.yaml"
    r = fallwatch("config", "check", config, "--config", other, LANG="ko_KR.UTF-8")
    assert r.returncode == 2 and "설정 파일이 두 개 주어졌습니다" in r.stderr
