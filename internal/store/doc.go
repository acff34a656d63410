// Package store is the persistence contract for all of Signet's durable state.
//
// It owns the record types (tenants, subscriptions, resource groups, resources,
// principals and their credentials, role definitions and assignments, signing
// keys, assertion replay markers, sign-in and activity records) and the sentinel
// errors every backend maps its driver errors to. It holds no SQL: backends live
// in store/sqlstore and all of them must pass store/storetest.
//
// All access goes through a transaction named by intent: Read for a consistent
// snapshot, Write for a change that must happen entirely or not at all. A Write
// callback may be run more than once (backends retry on serialization
// conflicts), so it must not have side effects outside the Tx.
//
// It must not import any other Signet package: everything depends on it.
package store
