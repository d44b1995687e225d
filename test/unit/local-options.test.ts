import { describe, expect, it } from 'vitest';
import { optionsFromEnv, StartupError } from '../../local/runtime';

describe('local channel settings (SPEC 8, 12)', () => {
  it('reads PUBLIC_BASE_URL for absolute links, without a trailing slash; unset means http://localhost:<PORT>', () => {
    expect(optionsFromEnv({}).publicBaseUrl).toBeUndefined();
    expect(optionsFromEnv({ PUBLIC_BASE_URL: 'https://satchel-demo.trycloudflare.com/' }).publicBaseUrl).toBe('https://satchel-demo.trycloudflare.com');
    expect(optionsFromEnv({ PUBLIC_BASE_URL: 'http://localhost:8080' }).publicBaseUrl).toBe('http://localhost:8080');
  });

  it('refuses a PUBLIC_BASE_URL that is not an http(s) URL, naming it', () => {
    for (const bad of ['satchel.example.com', 'ftp://satchel.example.com']) {
      expect(() => optionsFromEnv({ PUBLIC_BASE_URL: bad }), bad).toThrow(StartupError);
      expect(() => optionsFromEnv({ PUBLIC_BASE_URL: bad }), bad).toThrow(/PUBLIC_BASE_URL/);
    }
  });

  it('reads each channel API base, defaulting to the real APIs', () => {
    expect(optionsFromEnv({})).toMatchObject({
      telegramApiUrl: 'https://api.telegram.org',
      whatsappApiUrl: 'https://graph.facebook.com/v21.0',
      twilioApiUrl: 'https://api.twilio.com',
    });
    expect(optionsFromEnv({ TELEGRAM_API_URL: 'http://127.0.0.1:9999' }).telegramApiUrl).toBe('http://127.0.0.1:9999');
  });
});
