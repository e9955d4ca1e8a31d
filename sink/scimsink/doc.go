// Package scimsink provides a [usersync.Sink] for any SCIM 2.0 service
// provider (RFC 7643, RFC 7644): whatever a customer drops on SFTP reaches
// Slack, Zoom, Atlassian, GitHub Enterprise or any product that takes Okta
// or Entra ID provisioning, with usersync's guards, plans and reports in
// front.
//
// A [Sink] implements [usersync.Sink], [usersync.Lister] and
// [usersync.BatchApplier], and passes sink/sinktest against an in-process
// SCIM server (with and without Bulk, and with PUT where PATCH is not
// supported).
//
// # Identity
//
// A user's usersync key is its externalId. Users created by hand, without
// an externalId, are known by their userName. A user's userName is its key
// unless [Options.UserName] names an attribute (such as "email") to take
// it from. A user is adopted by externalId, else by userName (compared
// without regard to case, as SCIM compares userName): creating a user that
// exists, made by hand, takes it over. Groups are known by externalId (the
// feed's Group ID), their displayName is the group's name; groups without
// an externalId are neither listed nor touched. SCIM's Group resource has
// no parent and no account (RFC 7643 nests groups only through members),
// so a Sink ignores usersync.Group's Parent and Account: it is not a
// usersync.GroupLinker, and a reconciler plans no change of them.
//
// # Where the sync's state lives
//
// Whether the sync manages a user, and the missing-from-the-feed marker
// the reconciler counts its grace period with, must survive between runs.
// When the server's User resource type lists usersync's extension,
// [SyncSchema], the Sink keeps them there, on the user itself: managed
// (boolean), missingRuns and missingSince (integers), and attributes, a
// list of {name, value} holding the usersync attributes no [Mapping]
// places. An administrator adds the extension with the server's schema
// tools; in-house SCIM servers built on a framework take it as any other.
//
// Many hosted providers accept no custom schema. Without the extension
// (or with [Options.NoExtension]), a user is Managed when it has an
// externalId (the sync sets it on every user it creates or adopts, and
// administrators rarely do), the markers are kept in [Options.Store] (a
// usersync.Store, one small JSON value under "scimsink/missing"), and
// every attribute of the feed must have a mapping: writing an unmapped one
// fails the change. The trade-off: a user an administrator gave an
// externalId by hand counts as managed.
//
// # Attributes
//
// [DefaultAttributes] maps the names csvmap's Cosafe and Opensense presets
// give: name to displayName, email to the work email, title, phone,
// mobile_phone and phone2 to phone numbers by type, department, company
// (organization) and employee_number to the enterprise extension.
// [CosafeAttributes] and [OpensenseAttributes] add each preset's first and
// last name columns to name.givenName and name.familyName. The enterprise
// manager is not mapped by default: SCIM wants the manager's server id,
// which a feed does not know; map it with a Mapping only if the feed's
// values are ids.
//
// # Writes
//
// Users are created with POST, changed with PATCH (a replace per changed
// attribute) or, when the ServiceProviderConfig says PATCH is not
// supported, with PUT of the whole user; deactivated with active false,
// deleted with DELETE. Memberships change through PATCH of the group's
// members (add, and remove by filter or, with
// [Options.RemoveMembersByValue], by value), or by reading the group and
// writing its members back when the server has no PATCH or
// [Options.MembersReplace] says its add replaces the members. Every write
// to a user the Sink has read carries If-Match when the server supports
// ETags; a 412 reads the user again and retries.
//
// Every request has a timeout ([Options.RequestTimeout]). 429 and 503 are
// retried after Retry-After, or with exponential backoff; 500, 502, 504 and
// broken connections are retried too, except for a POST: its outcome is
// unknown, so the Sink looks the user up again before it creates it, and
// nothing is created twice. Other statuses fail the change alone, as an
// [*HTTPError] (a 404 wraps usersync.ErrNotFound).
//
// # Batches
//
// ApplyBatch uses the Bulk endpoint when the server offers it: it looks
// the batch's users up with a few filtered GETs, plans every change, and
// sends the operations in requests within the server's maxOperations and
// maxPayloadSize, referring to users created in the same request by
// bulkId. A change whose operations did not all succeed, or whose request
// broke, is applied again alone, with the later changes to the same user.
// Without Bulk, it sends [Options.Concurrency] changes at a time, each
// after the earlier changes to the same user or group, so that the result
// is that of the order given.
//
// # Authentication
//
// [Options.Token] is a static bearer token; [Options.TokenSource] takes an
// oauth2.TokenSource, such as golang.org/x/oauth2/clientcredentials'
// Config.TokenSource, for OAuth 2.0 client credentials. Or give an
// [Options.HTTPClient] that authenticates by itself. Tokens are never
// logged. TLS certificates are verified unless the host's client says
// otherwise.
//
// # Provider quirks
//
// The Sink reads a multi-valued attribute given as a single object as a
// list of one, and booleans given as strings ("True", as Entra ID sends
// them). [Options.PatchWithoutPath] sends each PATCH as one replace
// without a path, for providers that take no paths;
// [Options.RemoveMembersByValue] and [Options.MembersReplace] are above.
package scimsink
