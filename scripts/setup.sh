#!/usr/bin/env bash
# Installs what this project needs, only where it is missing:
#   - Emscripten (Debian's `emscripten` package) to build the wasm modules
#   - SIMDe (Debian's `libsimde-dev`) for the native builds' SIMD
#   - binaryen/wabt (wasm-dis, wasm-validate) to check that SIMD is really in the binary
#   - Chromium (Debian's `chromium`) for the browser tests
#   - npm packages (playwright-core, pngjs, TensorFlow.js for the benchmark) from package.json
# Usage: scripts/setup.sh [--build-only]   (--build-only skips Chromium and the npm packages)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v emcc >/dev/null || need_apt+=(emscripten)
command -v wasm-dis >/dev/null || need_apt+=(binaryen)
command -v wasm-validate >/dev/null || need_apt+=(wabt)
command -v cc >/dev/null || need_apt+=(gcc)
command -v make >/dev/null || need_apt+=(make)
# SIMDe: the native builds' SIMD (c/simd.h maps the kernels' wasm intrinsics onto SSE/AVX)
[ -f /usr/include/simde/wasm/simd128.h ] || need_apt+=(libsimde-dev)
if [ "${1:-}" != "--build-only" ]; then
  # fonts-liberation is only recommended by chromium, and --no-install-recommends skips it:
  # without a font the page's screenshots would have no text
  # (the tests take CHROMIUM, /usr/bin/chromium or /usr/bin/chromium-browser: tests/lib/browser.mjs)
  { [ -n "${CHROMIUM:-}" ] && [ -e "$CHROMIUM" ]; } || [ -e /usr/bin/chromium ] || [ -e /usr/bin/chromium-browser ] ||
    need_apt+=(chromium fonts-liberation)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    echo "setup: installing ${need_apt[*]} with apt-get" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}" >&2
  else
    echo "setup: missing ${need_apt[*]}; this script knows apt-get only." >&2
    echo "  Elsewhere install: the Emscripten SDK (emcc 3.1+), binaryen, wabt, a C compiler, SIMDe," >&2
    echo "  Chromium (set CHROMIUM=/path/to/chrome), and Node.js 20.10+." >&2
    exit 1
  fi
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: Node.js and npm are needed (apt-get install nodejs npm)" >&2
  exit 1
fi

if [ "${1:-}" != "--build-only" ]; then
  # The tests need Node 20.10+ (node --test --test-concurrency); Debian 12's own is 18 (what its
  # emscripten pulls in). Then Node 20 from the npm registry's node-linux-<arch> package (Node's
  # release binary repackaged there by a third party; npm checks the tarball against the
  # registry's hash, and nodejs.org is not reachable from here to check it against) into
  # build/node, which the Makefile puts first on PATH. (Building and serving work with 18.)
  node_ok() { "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 10) ? 0 : 1)'; }
  if ! node_ok node && ! { [ -x build/node/bin/node ] && node_ok build/node/bin/node; }; then
    case "$(uname -m)" in
      x86_64) arch=x64 ;;
      aarch64) arch=arm64 ;;
      *) echo "setup: Node.js $(node --version) is too old for the tests (20.10+ is needed)" >&2; exit 1 ;;
    esac
    echo "setup: Node.js $(node --version) is too old for the tests (20.10+); Node 20 from the npm registry (node-linux-$arch) into build/node" >&2
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-$arch@20" >/dev/null)
    rm -rf build/node && mkdir -p build/node
    tar xzf "$tmp"/node-linux-"$arch"-*.tgz -C build/node --strip-components=1
    rm -rf "$tmp"
    build/node/bin/node --version >/dev/null
  fi
fi

if [ "${1:-}" != "--build-only" ]; then
  if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ]; then
    echo "setup: npm install" >&2
    # never let a package download a browser of its own: Chromium comes from Debian
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund >&2
  fi
fi
