// Log lines and event messages with credentials in them, one or more per built-in pattern, and the
// secret parts that must never appear in any output; plus ordinary text that must stay as it is.
// Shared by the pattern table (redact.test.ts) and the end-to-end check (test/e2e/redaction.test.ts).
// All credentials are made up (AWS's documented example key, random strings).

export interface CredentialCase {
  pattern: string;
  text: string;
  /** Substrings that must be gone from every output. */
  secrets: string[];
  /** Substrings that must stay (the key name, the host: what helps diagnosis). */
  keeps?: string[];
}

const PEM_BODY =
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dV';

export const CREDENTIAL_CASES: CredentialCase[] = [
  {
    pattern: 'private-key',
    text: `loaded key -----BEGIN PRIVATE KEY-----\n${PEM_BODY}\nMvDuictGeurT8jNbvJZHtCSuYEvu\n-----END PRIVATE KEY----- ok`,
    secrets: [PEM_BODY.slice(0, 40), 'MvDuictGeurT8jNbvJZHtCSuYEvu'],
    keeps: ['loaded key', ' ok'],
  },
  {
    pattern: 'private-key',
    // A GCP service-account file logged as JSON: escaped newlines.
    text: `{"type":"service_account","private_key_id":"3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a","private_key":"-----BEGIN RSA PRIVATE KEY-----\\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\\n-----END RSA PRIVATE KEY-----\\n","client_email":"sa@proj.iam.gserviceaccount.com"}`,
    secrets: [
      'MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu',
      '3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a',
    ],
  },
  {
    pattern: 'private-key',
    text: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
    secrets: ['b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ'],
  },
  {
    pattern: 'url-credentials',
    text: 'FATAL: could not connect to postgres://orders:Pg-s3cret-2024@db.shop.svc:5432/orders?sslmode=require',
    secrets: ['Pg-s3cret-2024', 'orders:Pg'],
    keeps: ['db.shop.svc:5432/orders'],
  },
  {
    pattern: 'url-credentials',
    text: 'MongoServerSelectionError: mongodb+srv://admin:M0ng0%21Pass@cluster0.ab1cd.mongodb.net/shop?retryWrites=true',
    secrets: ['M0ng0%21Pass'],
    keeps: ['cluster0.ab1cd.mongodb.net'],
  },
  {
    pattern: 'url-credentials',
    text: 'redis connection lost redis://:R3disOnlyPass@redis-master:6379/0, retrying',
    secrets: ['R3disOnlyPass'],
    keeps: ['redis-master:6379'],
  },
  {
    pattern: 'url-credentials',
    text: 'amqp connect amqps://guest:Gu3st-Amqp@rabbitmq.infra:5671/vhost failed',
    secrets: ['Gu3st-Amqp'],
  },
  {
    pattern: 'url-credentials',
    text: 'mysql://root:p@ss/w0rd@mysql-0.mysql:3306/app unreachable',
    secrets: ['p@ss/w0rd', 'ss/w0rd'],
  },
  {
    pattern: 'url-credentials',
    text: 'git clone https://x0a1b2c3d4e5f6a7b8c9d0e1f2@github.com/org/repo.git failed',
    secrets: ['x0a1b2c3d4e5f6a7b8c9d0e1f2'],
  },
  {
    pattern: 'jwt',
    text: 'invalid session eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    secrets: [
      'eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ',
      'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    ],
  },
  {
    pattern: 'aws-access-key-id',
    text: 'S3 AccessDenied for AKIAIOSFODNN7EXAMPLE on bucket orders',
    secrets: ['AKIAIOSFODNN7EXAMPLE'],
    keeps: ['bucket orders'],
  },
  {
    pattern: 'aws-access-key-id',
    text: 'assumed role with ASIAY34FZKBOKMUTVV7A',
    secrets: ['ASIAY34FZKBOKMUTVV7A'],
  },
  {
    pattern: 'aws-secret-key',
    text: 'AWS secret key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY loaded from env',
    secrets: ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  },
  {
    pattern: 'aws-secret-key',
    text: 'aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY region=eu-west-1',
    secrets: ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    keeps: ['aws_secret_access_key=', 'region=eu-west-1'],
  },
  {
    pattern: 'gcp-api-key',
    text: 'maps request key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY denied',
    secrets: ['AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY'],
  },
  {
    pattern: 'gcp-oauth',
    text: 'token refresh returned ya29.a0AfH6SMBx3kQ9vZ2Lp8Rr7tYw6uI5oP4aS3dF2gH1jK0lZ',
    secrets: ['a0AfH6SMBx3kQ9vZ2Lp8Rr7tYw6uI5oP4aS3dF2gH1jK0lZ'],
  },
  {
    pattern: 'azure-key',
    text: 'DefaultEndpointsProtocol=https;AccountName=shopdata;AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4QUJDRA==;EndpointSuffix=core.windows.net',
    secrets: ['Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4QUJDRA=='],
    keeps: ['AccountName=shopdata', 'EndpointSuffix=core.windows.net'],
  },
  {
    pattern: 'azure-key',
    text: 'GET https://shopdata.blob.core.windows.net/c/b.png?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-12-01T00:00:00Z&sig=Qm9ndXNTaWduYXR1cmU%2BZm9vYmFy%3D 403',
    secrets: ['Qm9ndXNTaWduYXR1cmU%2BZm9vYmFy%3D'],
  },
  {
    pattern: 'azure-key',
    text: 'Endpoint=sb://bus.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=c2VydmljZWJ1c2tleXNlY3JldDEyMzQ1Njc4OTA=',
    secrets: ['c2VydmljZWJ1c2tleXNlY3JldDEyMzQ1Njc4OTA='],
  },
  {
    pattern: 'github-token',
    text: 'push rejected for ghp_16C7e42F292c6912E7710c838347Ae178B4a and gho_16C7e42F292c6912E7710c838347Ae178B4a',
    secrets: ['ghp_16C7e42F292c6912E7710c838347Ae178B4a', '16C7e42F292c6912E7710c838347Ae178B4a'],
  },
  {
    pattern: 'github-token',
    text: 'using github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ for the API',
    secrets: ['11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ'],
  },
  {
    pattern: 'gitlab-token',
    text: 'registry login with glpat-xYz12AbC34dEf56GhI78 failed',
    secrets: ['xYz12AbC34dEf56GhI78'],
  },
  {
    pattern: 'slack-token',
    text: 'slack api call with xoxb-2048-4096-AbCdEfGhIjKlMnOpQrStUvWx failed: invalid_auth',
    secrets: ['xoxb-2048-4096-AbCdEfGhIjKlMnOpQrStUvWx', 'AbCdEfGhIjKlMnOpQrStUvWx'],
  },
  {
    pattern: 'slack-webhook',
    text: 'posting alert to https://hooks.slack.com/services/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 returned 404',
    secrets: ['T0AB12CD3/B0EF45GH6/q1w2e3r4t5y6u7i8o9p0asdf', 'q1w2e3r4t5y6u7i8o9p0asdf'],
  },
  {
    pattern: 'stripe-key',
    text: 'stripe: charge failed with key sk_live_51HaBcDeFgHiJkLmNoPqRsTuV and rk_live_51HaBcDeFgHiJkLmNoPqRsTuW',
    secrets: ['51HaBcDeFgHiJkLmNoPqRsTuV', '51HaBcDeFgHiJkLmNoPqRsTuW'],
  },
  {
    pattern: 'sendgrid-key',
    text: 'mail send 401 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',
    secrets: ['ngeVfQFYQlKU0ufo8x5d1A', 'TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr'],
  },
  {
    pattern: 'npm-token',
    text: 'npm ERR! 403 npm_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78',
    secrets: ['npm_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78', 'Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78'],
  },
  {
    pattern: 'api-key',
    text: 'openai 401 for sk-proj-Xa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj0KkLl and sk-ant-api03-Qw3Er4Ty5Ui6Op7As8Df9Gh0',
    secrets: ['Xa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj0KkLl', 'Qw3Er4Ty5Ui6Op7As8Df9Gh0'],
  },
  {
    pattern: 'authorization',
    text: 'upstream 401: request headers Authorization: Bearer 7f3e9a1c2b4d6e8f0a1b2c3d4e5f6a7b host=api',
    secrets: ['7f3e9a1c2b4d6e8f0a1b2c3d4e5f6a7b'],
    keeps: ['Authorization: Bearer', 'host=api'],
  },
  {
    pattern: 'authorization',
    text: '{"headers":{"authorization":"Basic YWRtaW46c3VwZXJzZWNyZXQ=","accept":"*/*"}}',
    secrets: ['YWRtaW46c3VwZXJzZWNyZXQ='],
    keeps: ['"accept":"*/*"'],
  },
  {
    pattern: 'authorization',
    text: 'curl -H "X-Trace: 1" https://api.internal/v1 -H Bearer Zx9Yw8Vu7Ts6Rq5Po4',
    secrets: ['Zx9Yw8Vu7Ts6Rq5Po4'],
  },
  {
    pattern: 'cookie',
    text: 'request dump Cookie: JSESSIONID=A1B2C3D4E5F6; remember_me=Zq8Yx7Wv6',
    secrets: ['A1B2C3D4E5F6', 'Zq8Yx7Wv6'],
  },
  {
    pattern: 'secret-value',
    text: 'db config host=db user=app password=Hunter2-Hunter2 dbname=shop',
    secrets: ['Hunter2-Hunter2'],
    keeps: ['password=', 'dbname=shop'],
  },
  {
    pattern: 'secret-value',
    text: 'startup env DB_PASSWD: "p4ss w0rd!" SPRING_DATASOURCE_PWD=Spr1ngPwd',
    secrets: ['p4ss w0rd!', 'Spr1ngPwd'],
  },
  {
    pattern: 'secret-value',
    text: '{"level":"error","client_secret":"cs-9f8e7d6c5b4a","access_token":"at-1a2b3c4d5e","api_key":12345678}',
    secrets: ['cs-9f8e7d6c5b4a', 'at-1a2b3c4d5e', '12345678'],
    keeps: ['"level":"error"'],
  },
  {
    pattern: 'secret-value',
    text: 'GET /callback?code=ok&access_token=QWERTY123456&state=x 302',
    secrets: ['QWERTY123456'],
  },
  {
    pattern: 'secret-value',
    text: 'config: apikey: Ap1K3yValue, api-key=Ap1K3yValue2, x-api-key: Ap1K3yValue3, secret=S3cr3tValue',
    secrets: ['Ap1K3yValue', 'Ap1K3yValue2', 'Ap1K3yValue3', 'S3cr3tValue'],
  },
  {
    pattern: 'secret-value',
    text: 'private_key: "MC4CAQAwBQYDK2VwBCIEIFp9", token=tok_live_998877',
    secrets: ['MC4CAQAwBQYDK2VwBCIEIFp9', 'tok_live_998877'],
  },
  {
    pattern: 'secret-value',
    // JSON inside a JSON string (a log body that is itself escaped JSON).
    text: '{"msg":"{\\"user\\":\\"app\\",\\"password\\":\\"Esc4ped\\\\\\"Pass\\"}"}',
    secrets: ['Esc4ped'],
  },
  {
    pattern: 'secret-value',
    text: "connecting with 'passwd': 'Sq1Pass', ConnectionString=Server=sql;Password=Mssql!Pass;",
    secrets: ['Sq1Pass', 'Mssql!Pass'],
  },
  {
    pattern: 'secret-value',
    text: 'exec: app --db-password Cl1Pass --verbose',
    secrets: ['Cl1Pass'],
  },
  {
    pattern: 'secret-value',
    text: 'login retry: the password is Tr0ub4dor!3 and the api key was ak_9f8e7d6c',
    secrets: ['Tr0ub4dor!3', 'ak_9f8e7d6c'],
  },
  {
    pattern: 'secret-value',
    text: 'backup: mysqldump -u root -pMyS3cretRoot shop > /tmp/x.sql; sshpass -p SshPa55 ssh db',
    secrets: ['MyS3cretRoot', 'SshPa55'],
  },
  {
    pattern: 'secret-value',
    text: 'redis slowlog: AUTH default R3disAuthPass',
    secrets: ['R3disAuthPass'],
  },
  {
    pattern: 'kubernetes-secret',
    text: 'applied:\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  DB_URL: cG9zdGdyZXM6Ly95YW1s\n  x: eWFtbHNlY3JldA==\ntype: Opaque',
    secrets: ['cG9zdGdyZXM6Ly95YW1s', 'eWFtbHNlY3JldA=='],
    keeps: ['name: db'],
  },
  {
    pattern: 'authorization',
    text: 'proxy sent bearer Qz7Wx6Ev5Rc4Tb3Yn2Um1',
    secrets: ['Qz7Wx6Ev5Rc4Tb3Yn2Um1'],
  },
  {
    pattern: 'kubernetes-secret',
    text: '{"kind":"Secret","apiVersion":"v1","metadata":{"name":"db-creds","namespace":"shop"},"data":{"DB_URL":"cG9zdGdyZXM6Ly91OnBAaA==","ca.crt":"LS0tLS1CRUdJTg=="},"type":"Opaque"}',
    secrets: ['cG9zdGdyZXM6Ly91OnBAaA==', 'LS0tLS1CRUdJTg=='],
    keeps: ['"name":"db-creds"'],
  },
  {
    pattern: 'high-entropy',
    // A PEM body line logged on its own, with no header around it.
    text: `key material ${PEM_BODY}`,
    secrets: [PEM_BODY.slice(10, 50)],
  },
  {
    pattern: 'url-credentials',
    // A summary cut short in the middle of a DSN (the password's start must not survive).
    text: 'ERROR dial postgres://orders:Pg-s3cret-20…',
    secrets: ['Pg-s3cret'],
  },
];

/** Text that must come out exactly as it went in (no credential in it). */
export const ORDINARY_TEXT: string[] = [
  'Back-off restarting failed container app in pod checkout-6b7c8d9f4-x2kqz_shop(0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b)',
  'MountVolume.SetUp failed for volume "db-creds" : secret "db-creds" not found',
  'Failed to pull image "registry.example.com/shop/checkout:v2.4.1": rpc error: code = NotFound',
  'image registry.example.com/shop/checkout@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  'org.postgresql.util.PSQLException: FATAL: password authentication failed for user "app"',
  'Failed to refresh token: connection refused',
  'token expired; secret rotated; api key invalid',
  'Basic authentication required',
  'Readiness probe failed: HTTP probe failed with statuscode: 503',
  'GET /apis/apps/v1/namespaces/shop/deployments/checkoutV2/scale 200 12ms',
  'trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7 took 1.2s',
  'at 2026-11-28T09:05:05.000Z ev-3eba92f5d0cf pod checkout-6b7c8d9f4-x2kqz image app:1.2.3 took 12:30',
  'secretName: db-creds, tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token, max_tokens=768',
  'java.lang.OutOfMemoryError: Java heap space at com.example.shop.CheckoutService.process(CheckoutService.java:142)',
  'Scaled up replica set checkout-6b7c8d9f4 to 3 from 1',
  'connect to http://inventory.shop.svc.cluster.local:8080/api/v1/items failed: 502',
  'dial tcp 10.244.1.17:8080: connect: connection refused',
  '0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available',
  'author: jane, authored 3 commits; passing tests: 12',
  'login failed: the password is incorrect; token is expired; AUTH failed',
  'kind: ConfigMap\ndata:\n  LOG_LEVEL: debug',
];
