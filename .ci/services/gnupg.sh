# GnuPG, for the PGP decryption tests (decrypt/pgpdecrypt) and the
# examples/pgpbench command. The tests make their keys and messages with the
# real gpg at test time, each in a throwaway GNUPGHOME of its own, and kill
# the gpg-agent they start there, so there is no server to start, nothing
# to clean up and nothing to export: they find gpg on the PATH
# (testenv.LookPath), and under CI=true fail if it is missing.
apt_install gnupg
gpg --version | head -n 1
