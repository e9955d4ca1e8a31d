# Debian's chromium, for the test that renders every golden HTML summary in
# a real browser at 390 and 900 px wide (report/browser_test.go); sourced
# by .ci/run (which defines apt_install). No server: the test starts
# headless Chromium itself, with nothing but file:// pages.

apt_install chromium
USERSYNC_TEST_CHROMIUM=$(command -v chromium)
export USERSYNC_TEST_CHROMIUM
echo "chromium $(dpkg-query -W -f='${Version}' chromium 2>/dev/null) at $USERSYNC_TEST_CHROMIUM"
