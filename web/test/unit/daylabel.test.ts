import assert from "node:assert/strict";
import { test } from "node:test";
import { dayLabel } from "../../src/pages/dom.js";

test("dayLabel: Today, Yesterday, then the date, with the year only when it is not this year's", () => {
  const now = new Date(2026, 11, 5, 0, 30); // 00:30 local, 5 Dec 2026
  assert.equal(dayLabel(new Date(2026, 11, 5, 0, 1), now), "Today");
  assert.equal(dayLabel(new Date(2026, 11, 4, 23, 59), now), "Yesterday");
  assert.equal(dayLabel(new Date(2026, 11, 1, 12, 0), now), "Tue, Dec 1");
  assert.equal(dayLabel(new Date(2025, 11, 31, 12, 0), now), "Wed, Dec 31, 2025");
  assert.equal(dayLabel("not a time", now), "");
});
