// Package doctor is the delivery playbook made executable: for a user, a
// thread and optionally a message, it gathers the evidence Herald records
// (identity and token issue log, request log, membership, thread
// lifecycle, connection log, delivery and ack ledger) and runs one check
// per hypothesis of the playbook, plus the further causes Herald knows.
// Each check returns a verdict (confirmed, ruled out, inconclusive), the
// playbook's evidence tag, the evidence items with times and ids, and the
// mitigation in plain words. A healthy delivery is reported as delivered,
// not as an alarm.
//
// It reads only: it is an admin operation, and its report holds ids,
// times and reasons, never message content.
package doctor
