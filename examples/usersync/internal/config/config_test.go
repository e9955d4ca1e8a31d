package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report/mailreport"
	"github.com/usersync/usersync/source"
)

// env returns a LookupEnv over the given variables only.
func env(vars ...string) *LoadOptions {
	m := map[string]string{}
	for i := 0; i+1 < len(vars); i += 2 {
		m[vars[i]] = vars[i+1]
	}
	return &LoadOptions{LookupEnv: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// base is a minimal valid config, to which tests add.
const base = `name: Test
source:
  local:
    folder: .
mapping:
  preset: cosafe
sink:
  sqlite:
    path: users.db
`

// parse parses text as the file usersync.yaml in a new temporary folder.
func parse(t *testing.T, text string, opts *LoadOptions) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	return Parse(filepath.Join(dir, "usersync.yaml"), []byte(text), opts)
}

// problems returns the problems of err as "line: key: message" strings.
func problems(t *testing.T, err error) []string {
	t.Helper()
	var es Errors
	require.True(t, errors.As(err, &es), "want config.Errors, got %T: %v", err, err)
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%d: %s: %s", e.Line, e.Key, e.Err))
	}
	return out
}

func TestMinimal(t *testing.T) {
	cfg, err := parse(t, base, env())
	require.NoError(t, err)
	assert.Equal(t, "Test", cfg.Name)
	assert.Equal(t, "local", cfg.Source.Kind())
	assert.NotNil(t, cfg.Mapper())
	assert.NotNil(t, cfg.ReconcilePolicy())
	assert.True(t, filepath.IsAbs(string(cfg.Sink.SQLite.Path)), "relative paths start in the config's folder")
	assert.Equal(t, "plans", filepath.Base(string(cfg.PlansDir)))
	assert.Empty(t, cfg.Secrets())
}

func TestUnknownKeyNamesLineAndSuggests(t *testing.T) {
	_, err := parse(t, base+`reports:
  email:
    hots: smtp.example.com
`, env())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "usersync.yaml:12: reports.email.hots: unknown key; did you mean \"host\"?")
}

func TestUnknownKeyWithoutNearMatchListsKeys(t *testing.T) {
	_, err := parse(t, base+"sink2: {}\n", env())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `:10: sink2: unknown key; did you mean "sink"?`)
	_, err = parse(t, strings.Replace(base, "preset: cosafe", "preset: cosafe\n  zzzzzzz: 1", 1), env())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mapping.zzzzzzz: unknown key; this section takes ")
}

func TestWrongTypes(t *testing.T) {
	_, err := parse(t, `source:
  sftp:
    host: h
    port: twenty-two
    user: u
    password_env: PW
    host_key_fingerprints: ["SHA256:x"]
    timeout: soon
    include_hidden: maybe
  max_files: [1]
mapping: {preset: cosafe}
sink: {sqlite: {path: x.db}}
`, env("PW", "pw-Secret-1"))
	require.Error(t, err)
	assert.Equal(t, []string{
		`4: source.sftp.port: want a whole number, got "twenty-two"`,
		`8: source.sftp.timeout: want a duration such as 30s, 5m, 2h or 7d, got "soon"`,
		`9: source.sftp.include_hidden: want true or false, got "maybe"`,
		`10: source.max_files: want a whole number, got a list`,
	}, problems(t, err))
}

func TestSyntaxErrorNamesLine(t *testing.T) {
	_, err := parse(t, "source:\n  local:\n    folder: [unclosed\nmapping: x\n", env())
	require.Error(t, err)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Positive(t, e.Line)
	assert.Contains(t, err.Error(), "usersync.yaml:")
}

func TestEmptyAndMultiDocument(t *testing.T) {
	_, err := parse(t, "", env())
	assert.ErrorContains(t, err, "empty")
	_, err = parse(t, base+"---\nname: other\n", env())
	assert.ErrorContains(t, err, "more than one YAML document")
	_, err = parse(t, "- a\n- b\n", env())
	assert.ErrorContains(t, err, "want a mapping of keys")
}

func TestDuplicateKey(t *testing.T) {
	_, err := parse(t, base+"name: Again\n", env())
	require.Error(t, err)
	assert.Contains(t, err.Error(), ":10: name: key given twice (first on line 1)")
}

func TestLiteralSecretRefused(t *testing.T) {
	_, err := parse(t, `source:
  sftp:
    host: h
    user: u
    password: hunter2
    known_hosts_file: /dev/null
mapping: {preset: cosafe}
sink: {sqlite: {path: x.db}}
`, env())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "usersync.yaml:5: source.sftp.password: secrets are never read from the config file: give password_env")
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestSecretFromEnv(t *testing.T) {
	text := `source:
  sftp:
    host: h
    user: u
    password_env: SFTP_PW
    host_key_fingerprints: ["SHA256:abc"]
mapping: {preset: cosafe}
sink: {sqlite: {path: x.db}}
`
	cfg, err := parse(t, text, env("SFTP_PW", "s3cret-pw"))
	require.NoError(t, err)
	assert.Equal(t, "s3cret-pw", cfg.Source.SFTP.Password.Value())
	assert.Equal(t, []string{"s3cret-pw"}, cfg.Secrets())
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", cfg.Source.SFTP.Password, *cfg.Source.SFTP, *cfg.Source.SFTP), "s3cret-pw",
		"printing the config shows no secret")

	_, err = parse(t, text, env())
	assert.ErrorContains(t, err, "usersync.yaml:5: source.sftp.password_env: environment variable SFTP_PW is not set")
	_, err = parse(t, text, env("SFTP_PW", ""))
	assert.ErrorContains(t, err, "environment variable SFTP_PW is empty")
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pw, []byte("from-a-file\n"), 0o644))
	text := fmt.Sprintf(`source:
  sftp:
    host: h
    user: u
    password_file: %s
    host_key_fingerprints: ["SHA256:abc"]
mapping: {preset: cosafe}
sink: {sqlite: {path: x.db}}
`, pw)
	cfg, err := Parse(filepath.Join(dir, "c.yaml"), []byte(text), env())
	require.NoError(t, err)
	assert.Equal(t, "from-a-file", cfg.Source.SFTP.Password.Value(), "the line end is not part of the secret")
	require.Len(t, cfg.Warnings, 1)
	assert.Contains(t, cfg.Warnings[0], "others may read it")

	require.NoError(t, os.Chmod(pw, 0o600))
	cfg, err = Parse(filepath.Join(dir, "c.yaml"), []byte(text), env())
	require.NoError(t, err)
	assert.Empty(t, cfg.Warnings)

	_, err = Parse(filepath.Join(dir, "c.yaml"), []byte(strings.Replace(text, pw, "missing-file", 1)), env())
	assert.ErrorContains(t, err, "c.yaml:5: source.sftp.password_file: open "+filepath.Join(dir, "missing-file"))
}

func TestSecretGivenTwice(t *testing.T) {
	_, err := parse(t, `source:
  sftp:
    host: h
    user: u
    password_env: A
    password_file: /etc/hostname
    host_key_fingerprints: ["SHA256:abc"]
mapping: {preset: cosafe}
sink: {sqlite: {path: x.db}}
`, env("A", "a-Secret-1"))
	assert.ErrorContains(t, err, ":6: source.sftp.password_file: give only one of password_env and password_file")
}

func TestSFTPNeedsHostKeyAndCredentials(t *testing.T) {
	_, err := parse(t, `source:
  sftp:
    host: h
    user: u
mapping: {preset: cosafe}
sink: {sqlite: {path: x.db}}
`, env())
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, ":2: source.sftp: give a password")
	assert.Contains(t, msg, ":2: source.sftp: the server's host key must be verified")
}

func TestSourceExactlyOne(t *testing.T) {
	_, err := parse(t, "source: {pattern: x}\nmapping: {preset: cosafe}\nsink: {sqlite: {path: x.db}}\n", env())
	assert.ErrorContains(t, err, ":1: source: give one of local, sftp and ftp")
	_, err = parse(t, `source:
  local: {folder: .}
  sftp: {host: h, user: u, password_env: P, host_key_fingerprints: ["SHA256:a"]}
mapping: {preset: cosafe}
sink: {sqlite: {path: x.db}}
`, env("P", "p-Secret-1"))
	assert.ErrorContains(t, err, "source: give only one of local, sftp and ftp")
}

func TestLocalFolderMustExist(t *testing.T) {
	_, err := parse(t, strings.Replace(base, "folder: .", "folder: no-such-folder", 1), env())
	assert.ErrorContains(t, err, ":4: source.local.folder: stat ")
}

func TestPickupSettings(t *testing.T) {
	cfg, err := parse(t, strings.Replace(base, "    folder: .\n", `    folder: .
  pattern: "users*.csv"
  min_age: 0
  after_success: Archive
  archive_folder: done
`, 1), env())
	require.NoError(t, err)
	s := cfg.Source
	assert.Equal(t, source.Archive, s.AfterSuccess.V)
	require.NotNil(t, s.MinAge)
	assert.Zero(t, *s.MinAge)

	_, err = parse(t, strings.Replace(base, "    folder: .\n", "    folder: .\n  after_success: shred\n  archive_folder: ../up\n", 1), env())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `source.after_success: want one of archive, delete, keep, got "shred"`)
	assert.Contains(t, err.Error(), `source.archive_folder: "../up": want a subfolder name`)
}

func TestValues(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"30s": 30 * time.Second, "1h30m": 90 * time.Minute, "7d": 7 * 24 * time.Hour,
		"1d12h": 36 * time.Hour, "0": 0, "1.5d": 36 * time.Hour,
	} {
		var d Duration
		require.NoError(t, d.UnmarshalText([]byte(s)), s)
		assert.Equal(t, want, d.D(), s)
	}
	for _, s := range []string{"", "soon", "-5m", "5", "d", "2x"} {
		var d Duration
		assert.Error(t, d.UnmarshalText([]byte(s)), s)
	}
	for s, want := range map[string]Size{"512": 512, "100MB": 100_000_000, "4GiB": 4 << 30, "1 KiB": 1024} {
		var z Size
		require.NoError(t, z.UnmarshalText([]byte(s)), s)
		assert.Equal(t, want, z, s)
	}
	var z Size
	assert.Error(t, z.UnmarshalText([]byte("lots")))
	var l Location
	require.NoError(t, l.UnmarshalText([]byte("America/Chicago")))
	assert.Equal(t, "America/Chicago", l.String())
	assert.ErrorContains(t, l.UnmarshalText([]byte("America/Chicag")), "unknown time zone")
	var lim Limit
	require.NoError(t, lim.UnmarshalText([]byte("off")))
	assert.Equal(t, Limit(-1), lim)
	var p Percent
	require.NoError(t, p.UnmarshalText([]byte("12.5%")))
	assert.Equal(t, Percent(12.5), p)
	assert.Error(t, p.UnmarshalText([]byte("150%")))
	var c ClockTime
	require.NoError(t, c.UnmarshalText([]byte("00:15")))
	assert.Equal(t, "00:15", c.String())
	assert.Error(t, c.UnmarshalText([]byte("24:00")))
}

func TestPostgresDSN(t *testing.T) {
	pg := func(sink string) string {
		return strings.Replace(base, "  sqlite:\n    path: users.db\n", sink, 1)
	}
	cfg, err := parse(t, pg("  postgres:\n    dsn: \"host=db dbname=app user=u\"\n"), env())
	require.NoError(t, err)
	assert.Equal(t, "host=db dbname=app user=u", cfg.Sink.Postgres.DSN.Value())

	for _, dsn := range []string{"host=db password=hunter2", "postgres://u:hunter2@db/app"} {
		_, err = parse(t, pg(fmt.Sprintf("  postgres:\n    dsn: %q\n", dsn)), env())
		require.Error(t, err, dsn)
		assert.Contains(t, err.Error(), ":9: sink.postgres.dsn: the connection string holds a password")
		assert.NotContains(t, err.Error(), "hunter2")
	}

	cfg, err = parse(t, pg("  postgres:\n    dsn_env: PG\n"), env("PG", "postgres://u:hunter2-long@db/app"))
	require.NoError(t, err)
	assert.Contains(t, cfg.Secrets(), "postgres://u:hunter2-long@db/app")
	assert.Contains(t, cfg.Secrets(), "hunter2-long", "the DSN's password alone is redacted too")

	// A password shorter than 8 characters is refused, and not shown.
	_, err = parse(t, pg("  postgres:\n    dsn_env: PG\n"), env("PG", "postgres://u:hunter2@db/app"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), ":8: sink.postgres: the password in the connection string (environment variable PG) has 7 characters, fewer than 8")
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestMapping(t *testing.T) {
	cfg, err := parse(t, strings.Replace(base, "  preset: cosafe\n", `  preset: cosafe
  columns:
    - name: title
      header: JobTitle
    - name: department
      aliases: [Dept]
  delimiter: ";"
  time_zone: Europe/Stockholm
  hold: {rows: 10}
`, 1), env())
	require.NoError(t, err)
	m := cfg.Mapping
	assert.Equal(t, ';', m.Delimiter.V)
	sc, err := m.schema()
	require.NoError(t, err)
	i := indexColumn(sc.Columns, "title")
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, "JobTitle", sc.Columns[i].Header, "a column of the preset's name replaces it")
	assert.GreaterOrEqual(t, indexColumn(sc.Columns, "department"), 0, "other columns are added")
	assert.Equal(t, 10, m.options().Hold.Rows)
	assert.Equal(t, -1.0, m.options().Hold.Percent)
}

func TestMappingErrors(t *testing.T) {
	_, err := parse(t, strings.Replace(base, "  preset: cosafe\n", "  preset: workday\n", 1), env())
	assert.ErrorContains(t, err, `:6: mapping.preset: want one of cosafe, opensense, sis_staff, sis_students, smartfense, got "workday"`)

	_, err = parse(t, strings.Replace(base, "  preset: cosafe\n", `  columns:
    - name: id
      role: key
    - name: id2
      role: key
`, 1), env())
	require.Error(t, err)
	assert.Contains(t, err.Error(), ":6: mapping.columns: ", "a schema the library refuses is reported at the columns")

	_, err = parse(t, strings.Replace(base, "  preset: cosafe\n", "  columns:\n    - name: x\n      kind: emial\n", 1), env())
	assert.ErrorContains(t, err, `:8: mapping.columns[0].kind: want one of bool, date, email, enum, phone, text, timestamp, got "emial"`)

	_, err = parse(t, strings.Replace(base, "mapping:\n  preset: cosafe\n", "mapping: {}\n", 1), env())
	assert.ErrorContains(t, err, "mapping: give a preset")
}

func TestRoutes(t *testing.T) {
	cfg, err := parse(t, strings.Replace(base, "  preset: cosafe\n", `  routes:
    - pattern: "students*.csv"
      preset: opensense
    - pattern: "staff*.csv"
      columns:
        - {name: id, role: key}
        - {name: email, kind: email}
`, 1), env())
	require.NoError(t, err)
	b, ok := cfg.Mapper().(*csvmap.ByName)
	require.True(t, ok, "%T", cfg.Mapper())
	assert.NotNil(t, b.Match("Students_2026.csv"))
	assert.Nil(t, b.Match("other.csv"), "without a schema beside the routes, other files match none")
}

func TestPolicy(t *testing.T) {
	cfg, err := parse(t, base+`policy:
  mode: delta
  absent: delete
  grace: {runs: 2, for: 3d}
  match:
    - key
    - {attr: email, ignore_case: true, adopt: true}
  attributes:
    phone2: {write: on_create, keep_empty: true}
  create_groups: false
  invite: auto
  guards:
    remove: {percent: 5%, max: off}
    create: {max: 100}
`, env())
	require.NoError(t, err)
	p := cfg.ReconcilePolicy()
	assert.Equal(t, reconcile.Delta, p.Mode)
	assert.Equal(t, reconcile.Delete, p.Absent)
	assert.Equal(t, 72*time.Hour, p.Grace.For)
	assert.Equal(t, []reconcile.MatchKey{{}, {Attr: "email", IgnoreCase: true, Adopt: true}}, p.MatchKeys)
	assert.Equal(t, reconcile.AttrRule{Write: reconcile.OnCreate, KeepEmpty: true}, p.Attrs["phone2"])
	assert.True(t, p.NoCreateGroups)
	assert.Equal(t, reconcile.Guard{Percent: 5, Max: -1}, p.RemoveGuard)
	assert.Equal(t, 100, p.CreateGuard.Max)
}

func TestEmail(t *testing.T) {
	cfg, err := parse(t, base+`reports:
  email:
    host: smtp.example.com
    username: u@example.com
    password_env: SMTP
    from: "usersync <u@example.com>"
    to:
      - hr@example.com
      - address: it@example.com
        on: [problems, plan_held]
      - address: boss@example.com
        on: held
`, env("SMTP", "smtp-Secret-1"))
	require.NoError(t, err)
	e := cfg.Reports.Email
	assert.Equal(t, mailreport.Recipient{Address: "hr@example.com"}, e.To[0].Recipient())
	assert.Equal(t, mailreport.OnProblems|mailreport.OnPlanHeld, e.To[1].Recipient().On)
	assert.Equal(t, mailreport.OnHeld, e.To[2].Recipient().On)

	_, err = parse(t, base+`reports:
  email:
    host: smtp.example.com
    tls: none
    username: u
    password_env: SMTP
    from: not an address
`, env("SMTP", "x-Secret-1"))
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "reports.email.from: want the sender's address")
	assert.Contains(t, msg, "reports.email: give the recipients")
	assert.Contains(t, msg, "reports.email.tls: none would send the password in the clear")
}

func TestSchedule(t *testing.T) {
	cfg, err := parse(t, base+`schedule:
  daily: "00:15"
  time_zone: America/Chicago
  on_new_file: true
  jitter: 5m
  pause:
    - {from: 2026-12-23, to: 2027-01-02}
    - {from: "06-20", to: "08-15"}
    - {from: "12-20", to: "01-06"}
`, env())
	require.NoError(t, err)
	s := cfg.Schedule
	assert.Equal(t, []ClockTime{{0, 15}}, s.Daily)
	assert.Equal(t, Duration(DefaultPoll), s.Poll)
	loc := s.Location()
	at := func(v string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", v, loc)
		require.NoError(t, err)
		return tm
	}
	dated, summer, winter := s.Pause[0], s.Pause[1], s.Pause[2]
	assert.True(t, dated.Contains(at("2026-12-23 00:00"), loc))
	assert.True(t, dated.Contains(at("2027-01-02 23:59"), loc), "a date alone includes the whole day")
	assert.False(t, dated.Contains(at("2027-01-03 00:00"), loc))
	assert.False(t, dated.Contains(at("2026-12-22 23:59"), loc))
	assert.True(t, summer.Contains(at("2031-07-01 12:00"), loc), "a yearly window applies every year")
	assert.False(t, summer.Contains(at("2031-08-16 00:00"), loc))
	assert.True(t, winter.Contains(at("2030-12-31 12:00"), loc), "a yearly window may run over the new year")
	assert.True(t, winter.Contains(at("2031-01-06 12:00"), loc))
	assert.False(t, winter.Contains(at("2031-01-07 00:00"), loc))

	_, err = parse(t, base+"schedule:\n  every: 1h\n  cron: \"61 * * * *\"\n  poll: 1m\n", env())
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "schedule: give only one of every, daily and cron")
	assert.Contains(t, msg, `schedule.cron: "61 * * * *": `)
	assert.Contains(t, msg, "schedule.poll: applies to on_new_file only")

	_, err = parse(t, base+"schedule:\n  pause:\n    - {from: 2026-05-01, to: \"06-01\"}\n  every: 1h\n", env())
	assert.ErrorContains(t, err, "schedule.pause[0]: give both ends as dates")
}

func TestCronInTimeZone(t *testing.T) {
	cfg, err := parse(t, base+"schedule:\n  cron: \"15 1 * * *\"\n  time_zone: America/Chicago\n", env())
	require.NoError(t, err)
	sched, err := cfg.Schedule.CronSchedule()
	require.NoError(t, err)
	chicago := cfg.Schedule.Location()
	// The night DST begins in Chicago (2026-03-08), 01:15 still exists.
	next := sched.Next(time.Date(2026, 3, 8, 0, 0, 0, 0, chicago))
	assert.Equal(t, time.Date(2026, 3, 8, 1, 15, 0, 0, chicago), next.In(chicago))
}

func TestErrorsInLineOrder(t *testing.T) {
	_, err := parse(t, `name: x
source:
  local: {folder: nowhere}
mapping:
  preset: nope
sink:
  sqlite: {}
zzz: 1
`, env())
	require.Error(t, err)
	ps := problems(t, err)
	require.GreaterOrEqual(t, len(ps), 3)
	var lines []int
	for _, p := range ps {
		var l int
		fmt.Sscanf(p, "%d:", &l)
		lines = append(lines, l)
	}
	for i := 1; i < len(lines); i++ {
		assert.LessOrEqual(t, lines[i-1], lines[i], "problems in file order: %v", ps)
	}
}

// TestExample parses the documented example, and checks that every key its
// commented-out sections mention is a key the config takes, so that the
// documentation cannot drift from the code.
func TestExample(t *testing.T) {
	const path = "../../usersync.example.yaml"
	cfg, err := Load(path, env())
	require.NoError(t, err)
	assert.Equal(t, "Acme Corp", cfg.Name)
	assert.Equal(t, "acme", cfg.Sink.Tenant)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	known := map[string]bool{}
	collectKeys(reflect.TypeFor[Config](), known, map[reflect.Type]bool{})
	known["phone2"] = true // an attribute's name, under policy.attributes
	for _, c := range []string{"username", "status", "start_date", "employee_no", "phone", "title"} {
		known[c] = true // columns' names, under mapping.transforms
	}
	keyLine := regexp.MustCompile(`^\s*#\s+(?:- )?([a-z][a-z0-9_]*):(?:\s|$)`)
	for i, line := range strings.Split(string(data), "\n") {
		if m := keyLine.FindStringSubmatch(line); m != nil {
			assert.True(t, known[m[1]], "usersync.example.yaml:%d mentions the unknown key %q", i+1, m[1])
		}
	}
}

// collectKeys adds every YAML key of t and of the types it holds.
func collectKeys(t reflect.Type, known map[string]bool, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	for k, f := range fieldsOf(t) {
		known[k] = true
		collectKeys(t.FieldByIndex(f.index).Type, known, seen)
	}
}

func TestMemoryBudgetAndTempDir(t *testing.T) {
	cfg, err := parse(t, "memory_budget: 64MiB\ntemp_dir: spill\n"+base, env())
	require.NoError(t, err)
	assert.Equal(t, Size(64<<20), cfg.MemoryBudget)
	assert.True(t, filepath.IsAbs(string(cfg.TempDir)), "relative paths start in the config's folder")
	assert.Equal(t, "spill", filepath.Base(string(cfg.TempDir)))

	_, err = parse(t, "memory_budget: 1MB\n"+base, env())
	assert.ErrorContains(t, err, "memory_budget: must be at least 16MiB")
}
