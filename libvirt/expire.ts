// A firewall rule's expiry as the nwfilter itself carries it: a tag in front of the
// rule's comment (libvirt keeps a comment per rule, and nothing else a rule could
// hold), so `bulkhead audit` can read from a live host when a deployed rule expires.

/** `[expire 1463292452 2016-05-15T06:07:32Z]`: epoch seconds, then the same time for people. */
export function expireTag(expire: number): string {
  return `[expire ${expire} ${new Date(expire * 1000).toISOString().replace(/\.000Z$/, "Z")}]`;
}

/** A rule comment's expiry, when it carries one (the tag comes first). */
export function parseExpireTag(comment: string | undefined): number | undefined {
  const m = /^\[expire (\d{1,16}) [^\]]*\]/.exec(comment ?? "");
  return m === null ? undefined : Number(m[1]);
}
