#!/bin/sh
# Build local stand-in images for the Docker mode without any container registry:
#
#   e2e-local/mlflow:3.17.2   Debian bookworm + python3 venv with mlflow==3.17.2 and psycopg2-binary
#   e2e-local/postgres:15     Debian bookworm + Debian's postgresql-15, with an entrypoint that
#                             initialises the cluster (POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB)
#
# Each is a debootstrap'ed rootfs (--variant=minbase) sent to `docker import`. The base rootfs is
# cached as a tarball under $E2E_IMAGE_CACHE (default: ~/.cache/e2e/docker-images), so a re-run
# only redoes the package installation. Point the compose files at them with
#
#   E2E_MLFLOW_IMAGE=e2e-local/mlflow:3.17.2 E2E_POSTGRES_IMAGE=e2e-local/postgres:15
#
# Needs: root, debootstrap, a running Docker-compatible engine (`docker` CLI), and network access
# to a Debian mirror and to PyPI (pip runs inside the chroot).
#
# Usage: assets/docker/build-images.sh [--force] [mlflow] [postgres]   (default: both)
#   --force   rebuild images that already exist (the cached base rootfs is kept)
#
# Two runs at once (two CI jobs on one runner) build each image once: a run holds a lock per image
# tag ($E2E_IMAGE_CACHE/<tag>.lock, a flock the kernel drops when its holder dies, so a killed build
# never blocks the next one); another run says it waits, then uses the image that run made.
#
# Environment:
#   E2E_IMAGE_CACHE    cache dir for the base rootfs tarball and the per-image locks
#   E2E_DEBIAN_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   E2E_MLFLOW_VERSION mlflow version (default 3.17.2; also the image tag)
set -eu

here=$(cd "$(dirname "$0")" && pwd)

cache=${E2E_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/e2e/docker-images}
mirror=${E2E_DEBIAN_MIRROR:-http://deb.debian.org/debian}
mlflow_version=${E2E_MLFLOW_VERSION:-3.17.2}
mlflow_image=e2e-local/mlflow:$mlflow_version
postgres_image=e2e-local/postgres:15
base_tar=$cache/bookworm-python-minbase.tar

force=0
targets=""
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    mlflow|postgres) targets="$targets $arg" ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "build-images: unknown argument '$arg' (use: --force, mlflow, postgres)" >&2; exit 2 ;;
  esac
done
[ -n "$targets" ] || targets="mlflow postgres"

[ "$(id -u)" = 0 ] || { echo "build-images: needs root (debootstrap and chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "build-images: debootstrap missing: apt-get install -y debootstrap" >&2; exit 1; }
command -v docker >/dev/null || { echo "build-images: docker CLI missing: apt-get install -y docker.io" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "build-images: no Docker engine answers: start dockerd or set DOCKER_HOST" >&2; exit 1; }

log() { printf '[build-images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-images.XXXXXX")
mounts=""
cleanup() {
  for m in $mounts; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work"
  rm -f "$base_tar.tmp.$$"
}
trap cleanup EXIT INT TERM

# Base rootfs: minbase + python3 + venv + CA certificates, cached as a tarball.
# Two builds at once (two CI jobs on one runner) make it once: the second waits on a flock, which
# the kernel releases when its holder dies, so a killed build never blocks the next one.
ensure_base() {
  if [ -s "$base_tar" ]; then log "base rootfs: cached $base_tar"; return; fi
  mkdir -p "$cache"
  exec 9>"$base_tar.lock"
  if ! flock -n 9; then
    log "base rootfs: waiting for another build-images making $base_tar"
    flock 9
  fi
  if [ -s "$base_tar" ]; then log "base rootfs: cached $base_tar"; exec 9>&-; return; fi
  log "base rootfs: debootstrap bookworm (minbase) from $mirror"
  dir=$work/base
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$dir" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  chroot "$dir" apt-get clean
  rm -rf "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -cf "$base_tar.tmp.$$" .
  mv "$base_tar.tmp.$$" "$base_tar"
  exec 9>&-
  rm -rf "$dir"
  log "base rootfs: cached $(du -h "$base_tar" | cut -f1) in $base_tar"
}

# Run "$@" (a build_* function) holding the lock of image $1. A run that had to wait and finds
# the image (re)made meanwhile uses it, even with --force: it was just built.
with_image_lock() {
  image=$1; shift
  mkdir -p "$cache"
  lock=$cache/$(printf '%s' "$image" | tr '/:' '__').lock
  before=$(image_id "$image")
  exec 8>>"$lock"
  if ! flock -n 8; then
    log "$image: waiting for another build-images (pid $(cat "$lock" 2>/dev/null || true)) building it"
    flock 8
    now=$(image_id "$image")
    if [ -n "$now" ] && [ "$now" != "$before" ]; then
      log "$image: made by the other build-images while this one waited; using it"
      exec 8>&-
      return
    fi
  fi
  echo $$ >"$lock"
  "$@"
  exec 8>&-
}

# Unpack the base into a fresh dir and make it usable for chroot (DNS, /proc, /dev).
unpack() {
  dir=$1
  mkdir -p "$dir"
  tar -C "$dir" -xf "$base_tar"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  mount -t proc proc "$dir/proc"; mounts="$dir/proc $mounts"
  mount --bind /dev "$dir/dev"; mounts="$dir/dev $mounts"
}

release() {
  dir=$1
  umount -l "$dir/proc" 2>/dev/null || true
  umount -l "$dir/dev" 2>/dev/null || true
  : >"$dir/etc/resolv.conf"
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
# After a --force rebuild, drop the previous image if nothing else uses it (no dangling copies).
drop_old() { new=$(image_id "$2"); if [ -n "$1" ] && [ "$1" != "$new" ]; then docker rmi "$1" >/dev/null 2>&1 || true; fi; }

build_mlflow() {
  if [ "$force" = 0 ] && image_exists "$mlflow_image"; then log "$mlflow_image: exists (use --force to rebuild)"; return; fi
  ensure_base
  dir=$work/mlflow
  unpack "$dir"
  log "$mlflow_image: pip install mlflow==$mlflow_version psycopg2-binary (inside the chroot)"
  # pip inside the chroot trusts the host's CA bundle (it may hold a proxy's CA); it is removed after.
  cp /etc/ssl/certs/ca-certificates.crt "$dir/tmp/host-ca.crt"
  chroot "$dir" python3 -m venv /opt/mlflow
  env -i PATH=/opt/mlflow/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root PIP_CERT=/tmp/host-ca.crt \
      PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_DEFAULT_TIMEOUT=180 \
    chroot "$dir" /opt/mlflow/bin/pip install --quiet "mlflow==$mlflow_version" psycopg2-binary \
      >"$work/pip.log" 2>&1 || { tail -n 40 "$work/pip.log" >&2; exit 1; }
  chroot "$dir" /opt/mlflow/bin/python -c 'import mlflow, psycopg2; print("mlflow", mlflow.__version__, "psycopg2", psycopg2.__version__)' >&2
  rm -f "$dir/tmp/host-ca.crt"
  find "$dir/opt/mlflow" -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null || true
  mkdir -p "$dir/mlartifacts"
  release "$dir"
  log "$mlflow_image: docker import"
  old=$(image_id "$mlflow_image")
  tar -C "$dir" -c . | docker import \
    --change 'ENV PATH=/opt/mlflow/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PYTHONUNBUFFERED=1' \
    --change 'WORKDIR /' \
    --change 'EXPOSE 5000' \
    --change 'CMD ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000"]' \
    --message "e2e local stand-in: mlflow==$mlflow_version + psycopg2-binary on Debian bookworm" \
    - "$mlflow_image" >/dev/null
  drop_old "$old" "$mlflow_image"
  rm -rf "$dir"
  log "$mlflow_image: done"
}

build_postgres() {
  if [ "$force" = 0 ] && image_exists "$postgres_image"; then log "$postgres_image: exists (use --force to rebuild)"; return; fi
  ensure_base
  dir=$work/postgres
  unpack "$dir"
  log "$postgres_image: apt-get install postgresql-15 (inside the chroot)"
  # No services start inside the chroot; no default cluster is made (the entrypoint makes one).
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"; chmod +x "$dir/usr/sbin/policy-rc.d"
  mkdir -p "$dir/etc/postgresql-common"
  echo 'create_main_cluster = false' >"$dir/etc/postgresql-common/createcluster.conf"
  echo "deb $mirror bookworm main" >"$dir/etc/apt/sources.list"
  { chroot "$dir" apt-get update && \
    DEBIAN_FRONTEND=noninteractive chroot "$dir" apt-get install -y --no-install-recommends postgresql-15; } \
    >"$work/apt.log" 2>&1 || { tail -n 40 "$work/apt.log" >&2; exit 1; }
  chroot "$dir" apt-get clean
  rm -rf "$dir"/var/lib/apt/lists/* "$dir/usr/sbin/policy-rc.d"
  install -m 0755 "$here/postgres-entrypoint.sh" "$dir/usr/local/bin/docker-entrypoint.sh"
  mkdir -p "$dir/var/lib/postgresql/data" "$dir/var/run/postgresql"
  chroot "$dir" chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
  release "$dir"
  log "$postgres_image: docker import"
  old=$(image_id "$postgres_image")
  tar -C "$dir" -c . | docker import \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'EXPOSE 5432' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["postgres"]' \
    --message "e2e local stand-in: Debian postgresql-15 on bookworm" \
    - "$postgres_image" >/dev/null
  drop_old "$old" "$postgres_image"
  rm -rf "$dir"
  log "$postgres_image: done"
}

start=$(date +%s)
# The base rootfs is made only when an image is built (ensure_base, inside the lock).
for t in $targets; do eval "with_image_lock \"\$${t}_image\" build_$t"; done
log "all done in $(( $(date +%s) - start )) s: $(for t in $targets; do eval "printf '%s ' \"\$${t}_image\""; done)"
