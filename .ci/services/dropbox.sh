# OpenSSH's sftp client, for the drop box's tests (source/sftpserver): they
# start the embedded server themselves, on 127.0.0.1, and upload to it with
# "sftp -b", verifying its host key with StrictHostKeyChecking=yes. Under
# CI=true they fail if sftp is missing. Sourced by .ci/run (which defines
# apt_install); sshd.sh installs the same package for its own tests.
apt_install openssh-client
command -v sftp >/dev/null || { echo "dropbox.sh: sftp not found after installing openssh-client" >&2; return 1; }
