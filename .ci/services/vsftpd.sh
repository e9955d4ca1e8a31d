# vsftpd on 127.0.0.1 for the FTP(S) integration tests and the FTP bench;
# sourced by .ci/run (which defines apt_install and at_exit).
#
# Three instances share one throwaway folder, one local user and one
# self-signed certificate (for 127.0.0.1 and localhost):
#
#   explicit  AUTH TLS on its port, TLS required for login and data, and
#             require_ssl_reuse=YES: a data connection that does not resume
#             the control connection's TLS session is refused
#   implicit  TLS from the first byte (as on port 990), same rules
#   plain     no TLS at all, for the "plain only when chosen" tests
#
# A second, unrelated self-signed certificate lets tests check that a
# wrong CA is refused. vsftpd needs root to switch to the user who logs in;
# that user is a dedicated local account created here and deleted at exit,
# never root. Everything listens on 127.0.0.1 only, passive ports included.

apt_install vsftpd openssl curl

ftp_dir=$(mktemp -d /tmp/usersync-vsftpd.XXXXXX)
chmod 755 "$ftp_dir"
# A user of its own per run, so that two runs on one machine never reset or
# delete the account the other logs in with.
ftp_user=usersync-ftp-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d " \n")
ftp_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')

# free_port prints a loopback port nothing answers on.
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "vsftpd.sh: no free port" >&2; return 1
}

# PAM's pam_shells wants a shell listed in /etc/shells.
id "$ftp_user" >/dev/null 2>&1 || useradd --no-create-home --home-dir "$ftp_dir/home" --shell /bin/sh "$ftp_user"
echo "$ftp_user:$ftp_password" | chpasswd
at_exit "userdel $ftp_user >/dev/null 2>&1"
mkdir -p "$ftp_dir/home/in" "$ftp_dir/empty"
chown -R "$ftp_user:" "$ftp_dir/home"
chmod 755 "$ftp_dir/home" "$ftp_dir/empty"

for name in server other; do
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=usersync $name" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$ftp_dir/$name.key" -out "$ftp_dir/$name.pem" 2>/dev/null
done
chmod 600 "$ftp_dir/server.key"

# vsftpd_conf NAME PORT PASV_MIN EXTRA... writes NAME.conf.
vsftpd_conf() {
  local name=$1 port=$2 pasv=$3; shift 3
  {
    cat <<CONF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$port
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
userlist_enable=YES
userlist_deny=NO
userlist_file=$ftp_dir/users
pam_service_name=vsftpd
secure_chroot_dir=$ftp_dir/empty
chroot_local_user=NO
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=$pasv
pasv_max_port=$((pasv + 49))
port_enable=NO
utf8_filesystem=YES
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
max_clients=0
max_per_ip=0
idle_session_timeout=600
data_connection_timeout=120
xferlog_enable=YES
vsftpd_log_file=$ftp_dir/$name.log
dual_log_enable=YES
log_ftp_protocol=YES
CONF
    for line in "$@"; do echo "$line"; done
  } > "$ftp_dir/$name.conf"
}
echo "$ftp_user" > "$ftp_dir/users"

tls_conf=(ssl_enable=YES "rsa_cert_file=$ftp_dir/server.pem" "rsa_private_key_file=$ftp_dir/server.key"
  force_local_logins_ssl=YES force_local_data_ssl=YES require_ssl_reuse=YES
  ssl_tlsv1=NO ssl_sslv2=NO ssl_sslv3=NO ssl_ciphers=HIGH)
pasv_base=$((40000 + RANDOM % 20000))
ftp_ports=()
for name in explicit implicit plain; do
  port=$(free_port) || return 1
  ftp_ports+=("$port")
  case $name in
    explicit) vsftpd_conf "$name" "$port" "$pasv_base" "${tls_conf[@]}" implicit_ssl=NO ;;
    implicit) vsftpd_conf "$name" "$port" $((pasv_base + 50)) "${tls_conf[@]}" implicit_ssl=YES ;;
    plain) vsftpd_conf "$name" "$port" $((pasv_base + 100)) ssl_enable=NO ;;
  esac
  /usr/sbin/vsftpd "$ftp_dir/$name.conf" > "$ftp_dir/$name.out" 2>&1 &
  pid=$!
  # At exit, a server that died early says so, with its output.
  at_exit "kill $pid 2>/dev/null || { echo 'vsftpd.sh: vsftpd ($name) had stopped before the end:'; tail -20 $ftp_dir/$name.out $ftp_dir/$name.log; }"
done
at_exit "rm -rf $ftp_dir"
for port in "${ftp_ports[@]}"; do
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
done

export USERSYNC_TEST_FTPS_ADDR="127.0.0.1:${ftp_ports[0]}"
export USERSYNC_TEST_FTPS_IMPLICIT_ADDR="127.0.0.1:${ftp_ports[1]}"
export USERSYNC_TEST_FTP_PLAIN_ADDR="127.0.0.1:${ftp_ports[2]}"
export USERSYNC_TEST_FTPS_USER="$ftp_user"
export USERSYNC_TEST_FTPS_PASSWORD="$ftp_password"
# The server's certificate (self-signed: its own CA), and an unrelated one.
export USERSYNC_TEST_FTPS_CA="$ftp_dir/server.pem"
export USERSYNC_TEST_FTPS_WRONG_CA="$ftp_dir/other.pem"
# The folder the user sees as "in" (relative to its home), and where the
# tests put files directly, as a customer's upload would.
export USERSYNC_TEST_FTPS_FOLDER=in
export USERSYNC_TEST_FTPS_DIR="$ftp_dir/home/in"
echo "vsftpd $(dpkg-query -W -f='${Version}' vsftpd 2>/dev/null) on 127.0.0.1:${ftp_ports[*]} (explicit, implicit, plain)"
