# Sourced by the other scripts: the Debian 12 packages ctcnn needs, and a
# function that installs the missing ones (and only touches apt when something
# is missing, so a prepared machine needs no network).

# Compiler and build tool, Boost.Hana, Catch2 v2, Google Benchmark, oneDNN (the
# peer library in bench/), the Fashion-MNIST data set, zlib (gzip idx files),
# nlohmann-json (the tests: golden metadata, and the reference for ctcnn's JSON reader).
# ocl-icd-opencl-dev: Debian's oneDNN 2.6 CMake config asks for OpenCL (REQUIRED)
# and libdnnl-dev only recommends it, which --no-install-recommends leaves out.
CTCNN_PACKAGES=(build-essential cmake libboost1.81-dev catch2 libbenchmark-dev libdnnl-dev
                ocl-icd-opencl-dev dataset-fashion-mnist zlib1g-dev nlohmann-json3-dev)

# ctcnn_install_packages PACKAGE...: apt-get install whichever are not installed.
ctcnn_install_packages() {
  local missing=() package
  for package in "$@"; do
    if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null)" != installed ]]; then
      missing+=("$package")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  echo "installing: ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    if ! command -v sudo >/dev/null; then
      echo "error: missing packages (${missing[*]}); run as root or install them" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends \
    "${missing[@]}"
}
