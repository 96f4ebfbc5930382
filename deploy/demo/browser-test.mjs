// browser-test.mjs drives the demo in a real browser (Debian's Chromium,
// through playwright-core; no browser is ever downloaded): four people sign
// in to the legacy app through nginx and open the shared board, and alice
// types "@" in the comment Composer. It prints ONE JSON line with what each
// of them saw, and which requests their pages sent to the directory
// endpoints; demo_test.go asserts on it.
//
//   node deploy/demo/browser-test.mjs '{"url":"http://127.0.0.1:8080","outDir":"/tmp/x","chromium":"/usr/bin/chromium"}'
//
// Steps wait for what a person would wait for (the other one to appear, the
// counter to change) and give up after `waitMs` (default 10000). The first
// step that fails ends the run: its error goes in `failure`, and every open
// page is saved as failure-<user>.png. Screenshots of each view go to outDir.
// Exit code 0 whenever the report was printed, 2 for bad input.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const JWT_RE = /eyJ[\w-]*\.[\w-]*\.[\w-]*/g;
const redact = (s) => String(s).replace(JWT_RE, "<jwt>");

let input;
try {
  input = JSON.parse(process.argv[2] ?? "");
  for (const k of ["url", "outDir", "chromium"]) if (typeof input[k] !== "string" || !input[k]) throw new Error(`${k} is required`);
} catch (err) {
  console.error(`browser-test: bad input: ${err.message}`);
  process.exit(2);
}
const base = input.url.replace(/\/$/, "");
const waitMs = Number(input.waitMs) > 0 ? Number(input.waitMs) : 10000;
const VIEWPORT = { width: 1040, height: 660 };
const DIRECTORY_PATH = /^\/api\/liveblocks-(users|mentions|groups|rooms)$/;

const report = { failure: null, step: null, screenshots: [], console: {}, directory: {} };
const pages = {};
let step = "launch";

// Everything Chromium writes (profile, cache) goes to a new empty folder,
// removed at the end. Playwright gives each launch() a fresh profile folder;
// TMPDIR puts it, and Chromium's other files, in ours.
const scratch = mkdtempSync(path.join(tmpdir(), "lbauthz-chromium-"));
process.env.TMPDIR = scratch;
const browser = await chromium.launch({
  executablePath: input.chromium,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
  ],
  env: { ...process.env, TMPDIR: scratch, HOME: scratch },
});

async function shot(page, name) {
  const file = path.join(input.outDir, `${name}.png`);
  await page.screenshot({ path: file });
  report.screenshots.push(file);
}

// open gives a new browser profile (its own cookies) on the board's URL.
async function open(name) {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  page.setDefaultTimeout(waitMs);
  const lines = (report.console[name] = []);
  page.on("console", (m) => lines.length < 50 && lines.push(redact(`${m.type()}: ${m.text()}`)));
  page.on("pageerror", (e) => lines.length < 50 && lines.push(redact(`pageerror: ${e.message}`)));
  // Every answer of the directory endpoints this page received, with its
  // body: what the resolvers got from lbauthz.
  const seen = (report.directory[name] = []);
  page.on("response", async (res) => {
    const u = new URL(res.url());
    if (u.origin !== base || !DIRECTORY_PATH.test(u.pathname)) return;
    const query = Object.fromEntries([...new Set(u.searchParams.keys())].map((k) => [k, u.searchParams.getAll(k)]));
    const entry = { path: u.pathname, query, status: res.status() };
    seen.push(entry);
    entry.body = await res.json().catch(() => null);
  });
  pages[name] = page;
  await page.goto(`${base}/`);
  return page;
}

async function signIn(user) {
  const page = await open(user);
  await page.fill("input[name=username]", user);
  await page.fill("input[name=password]", "demo");
  await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);
  return page;
}

const status = (page) => page.getAttribute("#status", "data-status");
const counter = async (page) => Number(await page.textContent("#counter"));

async function waitConnected(page) {
  await page.waitForSelector('#status[data-status="connected"]');
  await page.waitForSelector('#counter[data-ready="true"]');
  await page.waitForSelector("#people li");
}

async function waitCounter(page, want) {
  await page.waitForFunction((v) => document.querySelector("#counter")?.textContent === String(v), want);
}

// people lists who a page shows in the room: [{id, name, access}].
function people(page) {
  return page.$$eval("#people li", (lis) =>
    lis.map((li) => ({
      id: li.dataset.userId,
      name: li.querySelector(".name")?.textContent,
      access: li.querySelector(".badge")?.textContent,
      avatarLoaded: (li.querySelector("img")?.naturalWidth ?? 0) > 0,
    })),
  );
}

// suggestions lists what the Composer's "@" picker shows: [{name,
// description, avatar, avatarLoaded}], avatar being the src of the item's
// image (null when it shows initials or an icon).
function suggestions(page) {
  return page.$$eval(".lb-composer-mention-suggestion", (items) =>
    items.map((li) => {
      const img = li.querySelector("img");
      const description = li.querySelector(".lb-composer-mention-suggestion-group-description")?.textContent ?? "";
      // A group's label holds its name, then its description.
      const label = li.querySelector(".lb-composer-mention-suggestion-user, .lb-composer-mention-suggestion-group")?.textContent ?? "";
      return {
        name: label.slice(0, label.length - description.length).trim(),
        description,
        avatar: img?.getAttribute("src") ?? null,
        avatarLoaded: (img?.naturalWidth ?? 0) > 0,
      };
    }),
  );
}

// mentionAnswer waits for lbauthz's answer to the page's mention request
// for text, and then for the picker to show that many items.
async function mentionAnswer(page, text, typing) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/api/liveblocks-mentions" && new URL(r.url()).searchParams.get("text") === text),
    typing,
  ]);
  const body = await res.json();
  // Each item is shown once resolveUsers or resolveGroupsInfo answered:
  // a name, and for a user an avatar image.
  await page.waitForFunction((n) => {
    const items = [...document.querySelectorAll(".lb-composer-mention-suggestion")];
    const shown = (li) => {
      const user = li.querySelector(".lb-composer-mention-suggestion-user");
      const label = user ?? li.querySelector(".lb-composer-mention-suggestion-group");
      const img = li.querySelector("img");
      return label?.textContent.trim() && !li.querySelector(".lb-loading") && (!user || (img?.complete && img.naturalWidth > 0));
    };
    return items.length === n && items.every(shown);
  }, body.length);
  return body;
}

// typeInComposer replaces what the page's Composer holds with text.
async function typeInComposer(page, text) {
  const editor = page.locator(".lb-composer-editor");
  await editor.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Backspace");
  await page.keyboard.type(text, { delay: 60 });
}

// ask fetches a directory endpoint from a page, as its script would.
function ask(page, url) {
  return page.evaluate(async (u) => {
    const res = await fetch(u, { credentials: "same-origin" });
    return { status: res.status, body: await res.json().catch(() => null) };
  }, url);
}

async function hoverBoard(page, x, y) {
  const box = await page.locator("#board").boundingBox();
  await page.mouse.move(box.x + box.width * x, box.y + box.height * y, { steps: 4 });
}

try {
  step = "a visitor without a session is sent to the login form";
  const visitor = await open("visitor");
  report.visitor = { landedOn: new URL(visitor.url()).pathname };
  await visitor.fill("input[name=username]", "alice");
  await visitor.fill("input[name=password]", "wrong");
  const [answer] = await Promise.all([visitor.waitForNavigation(), visitor.click("button[type=submit]")]);
  report.visitor.badPasswordStatus = answer?.status() ?? null;
  report.visitor.badPasswordError = await visitor.textContent("#login-error");
  await shot(visitor, "login");

  step = "alice and bob (group team) enter the room";
  const alice = await signIn("alice");
  const bob = await signIn("bob");
  await waitConnected(alice);
  await waitConnected(bob);
  report.alice = { signedInAs: await alice.textContent("#signed-in-as") };
  report.bob = { signedInAs: await bob.textContent("#signed-in-as") };

  step = "alice and bob see each other";
  await alice.waitForSelector('#people li[data-user-id="bob"]');
  await bob.waitForSelector('#people li[data-user-id="alice"]');

  step = "the counter alice and bob change agrees in both";
  const start = await counter(alice);
  const trail = [start];
  await alice.click("#increment");
  await waitCounter(bob, start + 1);
  trail.push(await counter(bob));
  await bob.click("#increment");
  await waitCounter(bob, start + 2);
  await bob.click("#increment");
  await waitCounter(alice, start + 3);
  await waitCounter(bob, start + 3);
  trail.push(await counter(alice));
  report.counter = { start, trail, alice: await counter(alice), bob: await counter(bob) };

  step = "bob sees alice's cursor";
  await hoverBoard(alice, 0.22, 0.3);
  const cursor = await bob.waitForSelector('#board .cursor[data-user-id="alice"]');
  report.bob.sawCursorOf = await cursor.textContent();

  step = "carol (group viewers) sees the counter but cannot change it";
  const carol = await signIn("carol");
  await waitConnected(carol);
  report.carol = {
    status: await status(carol),
    counter: await counter(carol),
    incrementDisabled: await carol.isDisabled("#increment"),
    decrementDisabled: await carol.isDisabled("#decrement"),
    readOnlyNote: (await carol.isVisible("#readonly-note")) ? await carol.textContent("#readonly-note") : null,
  };
  // A click on the disabled button does nothing (force skips Playwright's
  // own wait for an enabled button, as a determined user would try).
  await carol.click("#increment", { force: true });
  await alice.waitForSelector('#people li[data-user-id="carol"]');
  step = "carol sees alice's change live";
  await alice.click("#increment");
  await waitCounter(carol, start + 4);
  report.carol.counterAfterAlice = await counter(carol);

  step = "dave (group guests) is refused, and says so";
  const dave = await signIn("dave");
  await dave.waitForSelector("#refusal:not([hidden])", { timeout: waitMs + 5000 });
  report.dave = {
    status: await status(dave),
    refusalCode: await dave.getAttribute("#refusal", "data-code"),
    refusal: await dave.textContent("#refusal"),
    boardHidden: !(await dave.isVisible("#board")),
  };

  step = "the views, for the record";
  await hoverBoard(bob, 0.7, 0.62);
  await hoverBoard(carol, 0.8, 0.25);
  await alice.waitForSelector('#board .cursor[data-user-id="bob"]');
  await alice.waitForSelector('#board .cursor[data-user-id="carol"]');
  // Let the cursors' short slide finish before the picture.
  await alice.waitForTimeout(300);
  report.alice.people = await people(alice);
  report.bob.people = await people(bob);
  report.carol.people = await people(carol);
  report.alice.counter = await counter(alice);
  report.alice.cursorsSeen = await alice.$$eval("#board .cursor", (els) => els.map((e) => e.dataset.userId).sort());
  for (const [name, page] of Object.entries({ alice, bob, carol, dave })) await shot(page, name);

  step = 'alice types "@" alone: everyone who can enter the room, and nobody else';
  await mentionAnswer(alice, "", typeInComposer(alice, "@"));
  report.mentions = { all: await suggestions(alice) };

  step = 'alice types "@b" in the Composer and is offered Bob, with the name and avatar lbauthz serves';
  await mentionAnswer(alice, "b", alice.keyboard.type("b"));
  await alice.waitForSelector(".lb-composer-mention-suggestion >> text=Bob Chen");
  report.mentions.b = await suggestions(alice);
  await shot(alice, "alice-mention");
  // What the resolvers asked, before the checks below ask more.
  report.mentions.requests = report.directory.alice.slice();

  step = "the directory endpoints: dave is known to lbauthz but not in the room, a visitor gets 401";
  report.asked = {
    aliceUsers: await ask(alice, "/api/liveblocks-users?userIds=dave&userIds=nobody"),
    aliceMentionsD: await ask(alice, "/api/liveblocks-mentions?roomId=demo-board&text=d"),
    aliceGroups: await ask(alice, "/api/liveblocks-groups?groupIds=team&groupIds=nothing"),
    aliceRooms: await ask(alice, "/api/liveblocks-rooms?roomIds=demo-board"),
    daveMentions: await ask(dave, "/api/liveblocks-mentions?roomId=demo-board&text=b"),
    visitorUsers: await ask(visitor, "/api/liveblocks-users?userIds=bob"),
  };
  step = null;
} catch (err) {
  report.failure = redact(err.message.split("\n").slice(0, 6).join("\n"));
  report.step = step;
  for (const [name, page] of Object.entries(pages)) {
    try {
      await shot(page, `failure-${name}`);
    } catch {
      // The page may be gone; the report says what failed.
    }
  }
} finally {
  await browser.close().catch(() => {});
  rmSync(scratch, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(report) + "\n", () => process.exit(0));
