#!/bin/sh
# Make a minimal busybox root filesystem from the host's busybox-static:
#   scripts/mk-busybox-rootfs.sh DIR
set -eu
dir=${1:?usage: mk-busybox-rootfs.sh DIR}
bb=/bin/busybox
[ -x "$bb" ] || bb=/usr/bin/busybox
if [ ! -x "$bb" ]; then
  echo "mk-busybox-rootfs: no busybox; install busybox-static (make deps)" >&2
  exit 1
fi
mkdir -p "$dir/bin" "$dir/sbin" "$dir/usr/bin" "$dir/usr/sbin" "$dir/etc" "$dir/proc" \
  "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/root" "$dir/home" "$dir/var"
chmod 1777 "$dir/tmp"
cp "$bb" "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
  [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nberth:x:1000:1000:berth:/home/berth:/bin/sh\n' > "$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\nberth:x:1000:\n' > "$dir/etc/group"
