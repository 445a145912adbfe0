// GroupSelector: why a group was chosen, and fallback — the group that takes a request its own group could not (weighted, eligible, never itself).
import { expect, it } from 'vitest';
import { GroupSelector, hashUnit, type Group } from '../../src/routing/groups.js';

const groups = (): Group[] => [{ name: 'stable', weight: 75 }, { name: 'canary', weight: 25 }, { name: 'shadow', weight: 0 }];

it('chooses among the other groups with weight for which a backend is eligible', () => {
  const g = groups();
  const sel = new GroupSelector(g, new Set(), null, null, () => 0.99);
  expect(sel.fallback(g[1]!, () => true)).toBe(g[0]);
  expect(sel.fallback(g[0]!, () => true)).toBe(g[1]);
  expect(sel.fallback(g[0]!, (x) => x.name !== 'canary')).toBeUndefined();
});

it('splits by weight among several candidates', () => {
  const g = [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }, { name: 'c', weight: 1 }];
  let u = 0;
  const sel = new GroupSelector(g, new Set(), null, null, () => u);
  // a holds [0, 0.25) of the candidates' range, b [0.25, 1).
  const picks = [0, 0.24, 0.26, 0.5, 0.99].map((x) => {
    u = x;
    return sel.fallback(g[2]!, () => true)!.name;
  });
  expect(picks).toEqual(['a', 'a', 'b', 'b', 'b']);
});

it('says why it chose: single, pin, sticky, weighted (a sticky pool without the key draws by weight)', () => {
  expect(new GroupSelector([{ name: 'only', weight: 1 }], new Set(), null, null, () => 0).choose({ headers: {} })).toMatchObject({ reason: 'single', pinned: false });
  const g = groups();
  const sel = new GroupSelector(g, new Set(), { kind: 'header', name: 'x-user' }, { header: 'x-infergate-group', allow: new Set(['shadow']) }, () => 0.9);
  expect(sel.choose({ headers: { 'x-infergate-group': 'shadow' } })).toMatchObject({ group: g[2], pinned: true, reason: 'pin' });
  // Not allowed: the pin header is ignored.
  expect(sel.choose({ headers: { 'x-infergate-group': 'canary' } })).toMatchObject({ reason: 'weighted', group: g[1] });
  const user = 'user-7';
  expect(sel.choose({ headers: { 'x-user': user } })).toMatchObject({ reason: 'sticky', group: hashUnit(user) < 0.75 ? g[0] : g[1] });
  expect(sel.choose({ headers: {} })).toMatchObject({ reason: 'weighted', pinned: false, group: g[1] });
});
