package config_test

import (
	"fmt"

	"github.com/usersync/usersync/examples/usersync/internal/config"
)

// Every problem of a config file is reported at once, each with the file,
// the line and the key.
func ExampleParse() {
	_, err := config.Parse("usersync.yaml", []byte(`source:
  sftp:
    host: sftp.acme.example
    prot: 22
    user: acme
    password: hunter2
    known_hosts_file: /dev/null
mapping:
  preset: cosafe
sink:
  sqlite: {path: users.db}
policy:
  absent: remove
`), nil)
	fmt.Println(err)
	// Output:
	// usersync.yaml:4: source.sftp.prot: unknown key; did you mean "port"?
	// usersync.yaml:6: source.sftp.password: secrets are never read from the config file: give password_env (the name of an environment variable that holds it) or password_file (a file that holds it)
	// usersync.yaml:13: policy.absent: want one of deactivate, delete, ignore, got "remove"
}

// Secrets come from the environment (or files), and never print.
func ExampleSecret() {
	env := map[string]string{"ACME_SFTP_PASSWORD": "hunter2-Secret"}
	cfg, err := config.Parse("usersync.yaml", []byte(`source:
  sftp:
    host: sftp.acme.example
    user: acme
    password_env: ACME_SFTP_PASSWORD
    host_key_fingerprints: ["SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"]
mapping: {preset: cosafe}
sink: {sqlite: {path: users.db}}
`), &config.LoadOptions{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Source.SFTP.Password)
	fmt.Println(cfg.Source.SFTP.Password.Value() == "hunter2-Secret")
	// Output:
	// (secret from environment variable ACME_SFTP_PASSWORD)
	// true
}
