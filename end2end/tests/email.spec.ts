import { test, expect, signedIn } from './fixtures';
import { spawn, execFileSync, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as net from 'net';

// The email channel end to end, with real mail servers: an admin connects
// a channel in Settings, a customer's email (sent by Python's smtplib to
// Ayuda's SMTP listener) appears live in the workspace, the agent's reply
// reaches an aiosmtpd sink with threading headers, and the customer's
// answer to that reply lands on the same ticket.

const ADMIN = { email: 'admin@e2e.example', password: 'e2e-password' };
const port = Number(process.env.AYUDA_E2E_PORT || 3123);
const smtpPort = port + 2;
const python = path.resolve(__dirname, '../../tools/py/bin/python');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/// Sends a raw message to Ayuda's listener with Python's smtplib.
function sendMail(from: string, to: string, raw: string) {
  execFileSync('python3', [
    '-c',
    'import smtplib,sys; s=smtplib.SMTP("127.0.0.1", int(sys.argv[1])); s.sendmail(sys.argv[2], [sys.argv[3]], sys.stdin.read().encode()); s.quit()',
    String(smtpPort), from, to,
  ], { input: raw });
}

async function sinkMessages(dir: string, n: number): Promise<string[]> {
  for (let i = 0; i < 200; i++) {
    const files = ['new', 'cur'].flatMap((d) => {
      const p = path.join(dir, d);
      return fs.existsSync(p) ? fs.readdirSync(p).map((f) => path.join(p, f)) : [];
    });
    if (files.length >= n) return files.map((f) => fs.readFileSync(f, 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the sink did not receive ${n} message(s)`);
}

test('an email becomes a live ticket and the reply threads', async ({ browser, watch }) => {
  const sinkPort = await freePort();
  const sinkDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ayuda-sink-'));
  const sink: ChildProcess = spawn(python, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${sinkPort}`, '-c', 'aiosmtpd.handlers.Mailbox', path.join(sinkDir, 'md')]);
  try {
    const admin = await signedIn(browser, watch, ADMIN);
    await admin.getByTestId('settings-channels').click();
    await admin.getByTestId('connect-email').click();
    await admin.getByTestId('ch-name').fill('E2E Support');
    await admin.getByTestId('ch-address').fill('help@e2e.test');
    await admin.getByTestId('ch-smtp-host').fill('127.0.0.1');
    await admin.getByTestId('ch-smtp-port').fill('not a port');
    await admin.getByTestId('ch-smtp-security').selectOption('none');
    await admin.getByTestId('channel-save').click();
    await expect(admin.getByTestId('channel-error')).toContainText('port');
    await admin.getByTestId('ch-smtp-port').fill(String(sinkPort));
    await admin.getByTestId('channel-save').click();
    await expect(admin.getByTestId('channel')).toContainText('help@e2e.test');

    await admin.goto('/views/unassigned');
    await expect(admin.getByTestId('connection')).toContainText('Live');
    sendMail('lena@customer.test', 'help@e2e.test',
      'From: Lena Customer <lena@customer.test>\r\nTo: help@e2e.test\r\nSubject: Parcel never arrived\r\n' +
      'Message-ID: <e2e-first@customer.test>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n' +
      '<p>Where is my <b>parcel</b>?</p><img src="https://tracker.example/pixel.gif"><script>alert(1)</script>\r\n');
    const row = admin.getByTestId('ticket-row').filter({ hasText: 'Parcel never arrived' });
    await expect(row).toBeVisible();
    await row.locator('a').click();
    const inbound = admin.locator('[data-testid=entry][data-kind=inbound]');
    await expect(inbound).toContainText('Where is my parcel?');
    await expect(inbound.getByTestId('entry-origin')).toContainText('New ticket');
    // The tracking pixel is held back until asked for.
    await expect(inbound.locator('img')).toHaveCount(1);
    await expect(inbound.locator('img[src]')).toHaveCount(0);
    await inbound.getByTestId('show-images').click();
    await expect(inbound.locator('img[src="https://tracker.example/pixel.gif"]')).toHaveCount(1);

    await admin.getByTestId('mode-reply').click();
    await admin.getByTestId('composer').fill('It left our warehouse today.');
    await admin.getByTestId('send').click();
    const reply = admin.locator('[data-testid=entry][data-kind=reply]').last();
    await expect(reply.getByTestId('delivery')).toHaveAttribute('data-state', 'sent');
    const [sent] = await sinkMessages(path.join(sinkDir, 'md'), 1);
    const messageId = /^Message-ID: (<[^>]+>)/im.exec(sent)![1];
    expect(sent).toMatch(/^In-Reply-To: <e2e-first@customer\.test>/im);

    sendMail('lena@customer.test', 'help@e2e.test',
      `From: Lena Customer <lena@customer.test>\r\nTo: help@e2e.test\r\nSubject: Re: Parcel\r\n` +
      `Message-ID: <e2e-second@customer.test>\r\nIn-Reply-To: ${messageId}\r\nReferences: <e2e-first@customer.test> ${messageId}\r\n\r\n` +
      'Great, thank you!\r\n');
    await expect(admin.locator('[data-testid=entry][data-kind=inbound]').last()).toContainText('Great, thank you!');
    await expect(admin.locator('[data-testid=entry][data-kind=inbound]').last().getByTestId('entry-origin')).toContainText('In-Reply-To');
  } finally {
    sink.kill();
  }
});
