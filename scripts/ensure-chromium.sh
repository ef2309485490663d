#!/usr/bin/env bash
# Make sure a Chromium browser exists for the viewer's browser tests (tests/ui/test_browser.py).
# Installs Debian's `chromium` with apt-get when missing, only as root with apt available;
# otherwise says why and exits 0 (the browser tests then skip with that reason).
# Playwright's own browser download is never used: the tests drive this binary through
# `executable_path` (DOCREF_NLP_CHROMIUM overrides the path).
set -uo pipefail

find_browser() {
    if [ -n "${DOCREF_NLP_CHROMIUM:-}" ] && [ -x "${DOCREF_NLP_CHROMIUM}" ]; then
        return 0
    fi
    command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]
}

if find_browser; then
    echo "ensure-chromium: chromium present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-chromium: chromium not found and not root: not installing (browser tests will skip)"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: chromium not found and no apt-get: not installing (browser tests will skip)"
    exit 0
fi
echo "ensure-chromium: installing chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
if apt-get install -y --no-install-recommends chromium >/dev/null \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; }; then
    if find_browser; then
        echo "ensure-chromium: installed"
    else
        echo "ensure-chromium: installed, but chromium is still missing (browser tests will skip)"
    fi
else
    echo "ensure-chromium: apt-get install chromium failed (browser tests will skip)"
fi
exit 0
