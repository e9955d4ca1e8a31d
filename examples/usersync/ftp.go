package main

import (
	"context"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/source/ftpsource"
)

// ftpConfig returns the FTP source's settings; without retries, for check,
// a server that is down is reported at once.
func (a *app) ftpConfig(retries bool) (ftpsource.Config, *ftpsource.Options) {
	f := a.cfg.Source.FTP
	cfg := ftpsource.Config{
		Host: f.Host, Port: f.Port, User: f.User, Password: f.Password.Value(),
		Dir: f.Folder, File: f.File, TLS: f.TLS.V,
		RootCAs: f.RootCAs(), CertificateSHA256: f.CertSHA256, ServerName: f.ServerName,
	}
	opts := &ftpsource.Options{
		ConnectTimeout: f.ConnectTimeout.D(), Timeout: f.Timeout.D(), MaxConnections: f.MaxConnections,
		DisableEPSV: f.DisableEPSV, IncludeHidden: f.IncludeHidden, Logger: a.log,
	}
	if f.Retries != nil {
		opts.Retries = int(*f.Retries)
	}
	if !retries {
		opts.Retries = -1
	}
	return cfg, opts
}

// ftpSource returns the FTP source, which connects when first used.
func (a *app) ftpSource(retries bool) (usersync.Source, error) {
	cfg, opts := a.ftpConfig(retries)
	return newLazySource(cfg.String(), func(ctx context.Context) (usersync.Source, error) {
		return ftpsource.Dial(ctx, cfg, opts)
	}), nil
}
