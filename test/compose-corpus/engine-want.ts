// What each Compose file of the corpus means, per container, as `docker inspect` must show it: written from
// reading files/*.yaml (and the Compose Specification), never from the render, for engine.test.ts.
//
// - `cmd`: Compose's `command` as argv (a string is split as Compose splits it); the probe is the entrypoint.
// - `env`: every variable, exactly (the image adds PATH=/bin).
// - `mounts`: `bind SOURCE:DEST ro|rw` (`./` is the file's dir; docker shows paths without a trailing
//   slash) and `volume NAME:DEST rw`; secrets and configs are read-only binds at /run/secrets/NAME or their
//   target. The containers' hosts file comes on top unless `hostsFile: false`.
// - `ports`: `HOST_IP:HOST->CONTAINER/PROTO` (docker keeps an empty host IP when none is given).
// - `health`: seconds as in the file; `test` as in the file (exec form `['CMD', …]`, shell form
//   `['CMD-SHELL', line]`); `'none'` for `disable: true`. Unset fields are left to docker (absent).
// - `host`/`config`: the HostConfig/Config keys the file's one-flag keys set.
/** One container of a file. */
export interface Want {
  cmd?: string[];
  env?: Record<string, string>;
  mounts?: string[];
  hostsFile?: false;
  ports?: string[];
  expose?: string[];
  health?: 'none' | { test: string[]; interval?: number; timeout?: number; retries?: number; startPeriod?: number };
  labels?: Record<string, string>;
  config?: Record<string, unknown>;
  host?: Record<string, unknown>;
}

/** Files some corpus files read beside them (env files), or serve (static-site's page). */
export const BESIDE_TEXT: Record<string, Record<string, string>> = {
  // Compose's env-file syntax (compose-go's dotenv): comments, `export`, quotes, escapes in double quotes
  // only, interpolation from the lines before except in single quotes.
  mailserver: {
    // Compose's interpolation: the shell (SHELL_ENV) over `.env`; `:-` takes the default for an empty value,
    // `-` only for an unset one.
    '.env': '# the stack\'s names\nMAIL_HOSTNAME=mail2\nMAIL_DOMAIN=example.org\nSA_SPAM_TO_INBOX=\n',
    'mailserver.env': [
      '# docker-mailserver settings, as in its mailserver.env',
      'OVERRIDE_HOSTNAME=mail.example.com',
      'POSTMASTER_ADDRESS=postmaster@${OVERRIDE_HOSTNAME}',
      'export ENABLE_CLAMAV=0',
      'LOG_LEVEL=info # the rest of the line is a comment',
      "SSL_TYPE='manual'",
      'SSL_CERT_PATH="/tmp/dms/custom-certs/${OVERRIDE_HOSTNAME}.pem"',
      `RELAY_PASSWORD='pa$$word "quoted" 100%'`,
      'DMS_NOTE="first line\\nsecond line"',
      '',
    ].join('\n'),
  },
  'static-site': { 'www/index.html': '<h1>static site</h1>\n' },
};

/** The shell's environment a file is read with (the CLI's own process environment). */
export const SHELL_ENV: Record<string, Record<string, string>> = { mailserver: { MAIL_HOSTNAME: 'mx' } };

const G = 1024 ** 3;
const M = 1024 ** 2;
const DOCKER_SOCK = 'bind /var/run/docker.sock:/var/run/docker.sock';

export const WANT: Record<string, Record<string, Want>> = {
  caddy: {
    'caddy-1': {
      mounts: ['bind ./Caddyfile:/etc/caddy/Caddyfile rw', 'bind ./site:/srv rw', 'volume caddy_data:/data rw', 'volume caddy_config:/config rw'],
      ports: [':80->80/tcp', ':443->443/tcp', ':443->443/udp'],
      host: { CapAdd: ['NET_ADMIN'] },
    },
  },
  elk: {
    es: {
      env: { 'discovery.type': 'single-node', 'bootstrap.memory_lock': 'true', ES_JAVA_OPTS: '-Xms512m -Xmx512m' },
      ports: [':9200->9200/tcp', ':9300->9300/tcp'],
      health: { test: ['CMD-SHELL', 'curl --silent --fail localhost:9200/_cluster/health || exit 1'], interval: 10, timeout: 10, retries: 3 },
      host: { Ulimits: [{ Name: 'memlock', Soft: -1, Hard: -1 }, { Name: 'nofile', Soft: 65536, Hard: 65536 }] },
    },
    log: {
      cmd: ['logstash', '-f', '/usr/share/logstash/pipeline/logstash-nginx.config'],
      env: { 'discovery.seed_hosts': 'logstash', LS_JAVA_OPTS: '-Xms512m -Xmx512m' },
      mounts: ['bind ./logstash/pipeline/logstash-nginx.config:/usr/share/logstash/pipeline/logstash-nginx.config rw', 'bind ./logstash/nginx.log:/home/nginx.log rw'],
      ports: [':5000->5000/tcp', ':5000->5000/udp', ':5044->5044/tcp', ':9600->9600/tcp'],
    },
    kib: { ports: [':5601->5601/tcp'] },
  },
  'gitea-postgres-depends': {
    'db-1': {
      env: { POSTGRES_USER: 'gitea', POSTGRES_DB: 'gitea', POSTGRES_PASSWORD_FILE: '/run/secrets/db_password' },
      mounts: ['volume postgres:/var/lib/postgresql/data rw', 'bind ./secrets/db_password.txt:/run/secrets/db_password ro'],
      health: { test: ['CMD-SHELL', 'pg_isready -U gitea -d gitea'], interval: 10, timeout: 5, retries: 5 },
    },
    'server-1': {
      env: { USER_UID: '1000', GITEA__database__DB_TYPE: 'postgres', GITEA__database__HOST: 'db-1:5432', GITEA__database__NAME: 'gitea', GITEA__database__USER: 'gitea' },
      mounts: ['volume gitea:/data rw'],
      ports: [':3000->3000/tcp', ':222->22/tcp'],
    },
    'cache-1': {},
    'runner-1': { env: { GITEA_INSTANCE_URL: 'http://server-1:3000' } },
  },
  'gitea-postgres': {
    gitea: {
      env: {
        USER_UID: '1000', USER_GID: '1000', GITEA__database__DB_TYPE: 'postgres', GITEA__database__HOST: 'db-1:5432',
        GITEA__database__NAME: 'gitea', GITEA__database__USER: 'gitea', GITEA__database__PASSWD: 'gitea',
      },
      mounts: ['bind ./gitea:/data rw', 'bind /etc/timezone:/etc/timezone ro', 'bind /etc/localtime:/etc/localtime ro'],
      ports: [':3000->3000/tcp', ':222->22/tcp'],
    },
    'db-1': {
      env: { POSTGRES_USER: 'gitea', POSTGRES_PASSWORD: 'gitea', POSTGRES_DB: 'gitea' },
      mounts: ['bind ./postgres:/var/lib/postgresql/data rw'],
    },
  },
  'hardened-api': {
    'api-1': {
      env: { APP_ENV: 'production', APP_LOG_FORMAT: 'json' },
      ports: [':8443->8443/tcp'],
      labels: { 'com.example.team': 'platform', 'com.example.tier': 'api' },
      config: { User: '10001:10001', StopSignal: 'SIGINT' },
      host: {
        Init: true, ReadonlyRootfs: true, Tmpfs: { '/tmp': '', '/run': 'mode=755' }, CapDrop: ['ALL'], CapAdd: ['NET_BIND_SERVICE'],
        SecurityOpt: ['no-new-privileges:true', 'seccomp=unconfined'], Memory: 512 * M, MemorySwap: 512 * M, NanoCpus: 1.5e9,
        PidsLimit: 200, OomScoreAdj: -500,
      },
    },
  },
  'home-assistant': {
    homeassistant: {
      hostsFile: false,
      mounts: ['bind ./config:/config rw', 'bind /etc/localtime:/etc/localtime ro', 'bind /run/dbus:/run/dbus ro'],
      host: { Privileged: true, NetworkMode: 'host' },
    },
  },
  'influxdb-telegraf': {
    'influxdb-1': {
      env: {
        DOCKER_INFLUXDB_INIT_MODE: 'setup', DOCKER_INFLUXDB_INIT_USERNAME: 'admin', DOCKER_INFLUXDB_INIT_PASSWORD: 'change-me-please',
        DOCKER_INFLUXDB_INIT_ORG: 'example', DOCKER_INFLUXDB_INIT_BUCKET: 'metrics',
      },
      mounts: ['volume influxdb-data:/var/lib/influxdb2 rw'],
      ports: [':8086->8086/tcp'],
    },
    'telegraf-1': {
      mounts: ['bind ./telegraf.conf:/etc/telegraf/telegraf.conf ro', `${DOCKER_SOCK} rw`],
      config: { User: 'telegraf' },
      host: { GroupAdd: ['999'] },
    },
  },
  jellyfin: {
    'jellyfin-1': {
      hostsFile: false,
      mounts: ['bind ./config:/config rw', 'bind ./cache:/cache rw', 'bind /srv/media:/media ro'],
      ports: [':8096->8096/tcp'],
      config: { User: '1000:1000' },
      host: {
        GroupAdd: ['109'], Tmpfs: { '/transcodes': 'size=2g' }, ShmSize: 1 * G, ExtraHosts: ['host.docker.internal:host-gateway'],
        Devices: [{ PathOnHost: '/dev/dri/renderD128', PathInContainer: '/dev/dri/renderD128', CgroupPermissions: 'rwm' }],
      },
    },
  },
  kafka: {
    'zookeeper-1': { env: { ZOOKEEPER_CLIENT_PORT: '2181', ZOOKEEPER_TICK_TIME: '2000' }, ports: [':2181->2181/tcp'] },
    'kafka-1': {
      env: {
        KAFKA_BROKER_ID: '1', KAFKA_ZOOKEEPER_CONNECT: 'zookeeper-1:2181', KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://kafka-1:9092',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      },
      ports: [':9092->9092/tcp'],
    },
  },
  'keycloak-postgres': {
    'postgres-1': {
      env: { POSTGRES_DB: 'keycloak', POSTGRES_USER: 'keycloak', POSTGRES_PASSWORD: 'password' },
      mounts: ['volume postgres_data:/var/lib/postgresql/data rw'],
      health: { test: ['CMD', 'pg_isready', '-U', 'keycloak'], interval: 5 },
    },
    'keycloak-1': {
      cmd: ['start-dev'],
      env: {
        KC_DB: 'postgres', KC_DB_URL: 'jdbc:postgresql://postgres-1/keycloak', KC_DB_USERNAME: 'keycloak', KC_DB_PASSWORD: 'password',
        KEYCLOAK_ADMIN: 'admin', KEYCLOAK_ADMIN_PASSWORD: 'admin',
      },
      ports: [':8080->8080/tcp'],
    },
  },
  'loki-promtail': {
    'loki-1': {
      cmd: ['-config.file=/etc/loki/local-config.yaml'],
      mounts: ['bind ./loki/config.yaml:/etc/loki/local-config.yaml ro'],
      ports: [':3100->3100/tcp'],
    },
    'promtail-1': {
      cmd: ['-config.file=/etc/promtail/config.yml'],
      mounts: ['bind /var/log:/var/log ro', 'bind ./promtail/config.yaml:/etc/promtail/config.yml ro'],
    },
  },
  mailserver: {
    mailserver: {
      hostsFile: false,
      env: {
        OVERRIDE_HOSTNAME: 'mail.example.com', POSTMASTER_ADDRESS: 'postmaster@mail.example.com', ENABLE_CLAMAV: '0', LOG_LEVEL: 'info',
        SSL_TYPE: 'manual', SSL_CERT_PATH: '/tmp/dms/custom-certs/mail.example.com.pem', RELAY_PASSWORD: 'pa$$word "quoted" 100%',
        DMS_NOTE: 'first line\nsecond line',
        SSL_DOMAIN: 'mx.example.org', DOVECOT_MAILBOX_FORMAT: 'maildir', SPAMASSASSIN_SPAM_TO_INBOX: '', SRS_SECRET: 's3cr$t',
      },
      mounts: [
        'bind ./docker-data/dms/mail-data:/var/mail rw', 'bind ./docker-data/dms/mail-state:/var/mail-state rw',
        'bind ./docker-data/dms/mail-logs:/var/log/mail rw', 'bind ./docker-data/dms/config:/tmp/docker-mailserver rw',
        'bind /etc/localtime:/etc/localtime ro',
      ],
      ports: [':25->25/tcp', ':465->465/tcp', ':587->587/tcp', ':993->993/tcp'],
      health: { test: ['CMD-SHELL', "ss --listening --tcp | grep -P 'LISTEN.+:smtp' || exit 1"], timeout: 3 },
      config: { Hostname: 'mx', Domainname: 'example.org' },
      host: { CapAdd: ['NET_ADMIN'] },
    },
  },
  minecraft: {
    'mc-1': {
      env: { EULA: 'TRUE', TYPE: 'PAPER', MEMORY: '2G' },
      mounts: ['bind ./data:/data rw'],
      ports: [':25565->25565/tcp'],
      // tty and stdin_open: no terminal under systemd (a warning says so).
      config: { Tty: false, OpenStdin: false },
    },
  },
  minio: {
    'minio-1': {
      cmd: ['server', '/data', '--console-address', ':9001'],
      env: { MINIO_ROOT_USER: 'minioadmin', MINIO_ROOT_PASSWORD: 'minioadmin' },
      mounts: ['volume minio-data:/data rw'],
      ports: [':9000->9000/tcp', ':9001->9001/tcp'],
      health: { test: ['CMD', 'curl', '-f', 'http://localhost:9000/minio/health/live'], interval: 30, timeout: 20, retries: 3 },
      host: { Memory: 2 * G, MemoryReservation: 512 * M },
    },
  },
  mongo: {
    'mongo-1': {
      cmd: ['--bind_ip_all', '--wiredTigerCacheSizeGB', '1'],
      env: { MONGO_INITDB_ROOT_USERNAME: 'root', MONGO_INITDB_ROOT_PASSWORD: 'example' },
      mounts: ['volume docs_mongo_data:/data/db rw', 'bind ./init:/docker-entrypoint-initdb.d ro'],
    },
    'mongo-express-1': {
      env: { ME_CONFIG_MONGODB_ADMINUSERNAME: 'root', ME_CONFIG_MONGODB_ADMINPASSWORD: 'example', ME_CONFIG_MONGODB_URL: 'mongodb://root:example@mongo-1:27017/' },
      ports: [':8081->8081/tcp'],
    },
  },
  'nextcloud-redis-mariadb': {
    'db-1': {
      cmd: ['--transaction-isolation=READ-COMMITTED', '--log-bin=binlog', '--binlog-format=ROW'],
      env: { MYSQL_DATABASE: 'nextcloud', MYSQL_USER: 'nextcloud', MYSQL_PASSWORD: 'change-me', MYSQL_ROOT_PASSWORD: 'change-me-too' },
      mounts: ['volume db:/var/lib/mysql rw'],
    },
    'redis-1': {},
    'app-1': {
      env: { MYSQL_DATABASE: 'nextcloud', MYSQL_USER: 'nextcloud', MYSQL_PASSWORD: 'change-me', MYSQL_HOST: 'db-1', REDIS_HOST: 'redis-1' },
      mounts: ['volume nextcloud:/var/www/html rw'],
      ports: [':8080->80/tcp'],
    },
  },
  'nginx-configs': {
    'nginx-1': {
      mounts: ['bind ./nginx/nginx.conf:/etc/nginx/nginx.conf ro', 'bind ./nginx/conf.d/site.conf:/etc/nginx/conf.d/default.conf ro', 'bind ./html:/usr/share/nginx/html ro'],
      ports: [':80->80/tcp', ':443->443/tcp'],
      health: { test: ['CMD', 'wget', '-q', '--spider', 'http://localhost/'], interval: 30, timeout: 5 },
      config: { StopSignal: 'SIGQUIT' },
      host: { Tmpfs: { '/var/cache/nginx': `size=${64 * M}` } },
    },
  },
  'node-exporter-cadvisor': {
    'node-exporter': {
      hostsFile: false,
      cmd: ['--path.rootfs=/host'],
      mounts: ['bind /:/host ro rslave'],
      host: { NetworkMode: 'host', PidMode: 'host' },
    },
    cadvisor: {
      // `-v /:/rootfs:ro`: docker itself makes a bind of / rslave.
      mounts: ['bind /:/rootfs ro rslave', 'bind /var/run:/var/run ro', 'bind /sys:/sys ro', 'bind /var/lib/docker:/var/lib/docker ro', 'bind /dev/disk:/dev/disk ro'],
      ports: [':8080->8080/tcp'],
      host: { Privileged: true, Devices: [{ PathOnHost: '/dev/kmsg', PathInContainer: '/dev/kmsg', CgroupPermissions: 'rwm' }] },
    },
  },
  'ollama-gpu': {
    'ollama-1': {
      mounts: ['volume ollama:/root/.ollama rw'],
      ports: [':11434->11434/tcp'],
      host: { DeviceRequests: [{ Driver: '', Count: -1, DeviceIDs: null, Capabilities: [['gpu']], Options: {} }] },
    },
  },
  pihole: {
    pihole: {
      hostsFile: false,
      env: { TZ: 'Europe/London', WEBPASSWORD: 'change-me', FTLCONF_LOCAL_IPV4: '192.168.1.10' },
      mounts: ['bind ./etc-pihole:/etc/pihole rw', 'bind ./etc-dnsmasq.d:/etc/dnsmasq.d rw'],
      ports: [':53->53/tcp', ':53->53/udp', ':67->67/udp', ':8080->80/tcp'],
      config: { Hostname: 'pihole' },
      host: { Dns: ['127.0.0.1', '1.1.1.1'], CapAdd: ['NET_ADMIN'] },
    },
  },
  plex: {
    plex: {
      hostsFile: false,
      env: { PUID: '1000', PGID: '1000', TZ: 'Etc/UTC', VERSION: 'docker' },
      mounts: ['bind ./library:/config rw', 'bind /srv/media/tv:/tv rw', 'bind /srv/media/movies:/movies rw'],
      host: { NetworkMode: 'host', Devices: [{ PathOnHost: '/dev/dri', PathInContainer: '/dev/dri', CgroupPermissions: 'rwm' }] },
    },
  },
  'postgres-pgadmin': {
    'postgres-1': {
      env: { POSTGRES_USER: 'postgres', POSTGRES_PASSWORD_FILE: '/run/secrets/pg_password', PGDATA: '/var/lib/postgresql/data/pgdata' },
      mounts: ['volume pgdata:/var/lib/postgresql/data rw', 'bind /etc/pg/password:/run/secrets/pg_password ro'],
      ports: ['127.0.0.1:5432->5432/tcp'],
      health: { test: ['CMD-SHELL', 'pg_isready -U postgres'], interval: 10, timeout: 5, retries: 5, startPeriod: 10 },
      host: { ShmSize: 128 * M },
    },
    'pgadmin-1': {
      env: { PGADMIN_DEFAULT_EMAIL: 'admin@example.com', PGADMIN_DEFAULT_PASSWORD: 'change-me', PGADMIN_CONFIG_SERVER_MODE: 'False' },
      mounts: ['volume pgadmin:/var/lib/pgadmin rw'],
      ports: [':5050->80/tcp'],
    },
  },
  'prometheus-grafana': {
    prometheus: {
      cmd: ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.retention.time=15d'],
      mounts: ['bind ./prometheus:/etc/prometheus rw', 'volume prom_data:/prometheus rw'],
      ports: [':9090->9090/tcp'],
    },
    grafana: {
      env: { GF_SECURITY_ADMIN_USER: 'admin', GF_SECURITY_ADMIN_PASSWORD: 'grafana' },
      mounts: ['bind ./grafana:/etc/grafana/provisioning/datasources rw'],
      ports: [':3000->3000/tcp'],
    },
  },
  rabbitmq: {
    'rabbitmq-1': {
      hostsFile: false,
      env: { RABBITMQ_DEFAULT_USER: 'app', RABBITMQ_DEFAULT_PASS: 'change-me' },
      mounts: ['volume rabbitmq-data:/var/lib/rabbitmq rw'],
      ports: [':5672->5672/tcp', ':15672->15672/tcp'],
      health: { test: ['CMD', 'rabbitmq-diagnostics', '-q', 'check_port_connectivity'], interval: 30, timeout: 30, retries: 3 },
      config: { Hostname: 'rabbit' },
      host: { Ulimits: [{ Name: 'nofile', Soft: 65536, Hard: 65536 }] },
    },
  },
  'react-java-mysql': {
    'backend-1': { env: { MYSQL_HOST: 'db-1' }, mounts: ['bind ./db/password.txt:/run/secrets/db-password ro'] },
    'db-1': {
      env: { MYSQL_DATABASE: 'example', MYSQL_ROOT_PASSWORD_FILE: '/run/secrets/db-password' },
      mounts: ['volume db-data:/var/lib/mysql rw', 'bind ./db/password.txt:/run/secrets/db-password ro'],
      expose: ['3306/tcp', '33060/tcp'],
      health: { test: ['CMD', 'mysqladmin', 'ping', '-h', '127.0.0.1', '--silent'], interval: 3, retries: 5, startPeriod: 30 },
    },
    'frontend-1': { ports: [':3000->3000/tcp'] },
  },
  'redis-cluster': Object.fromEntries([1, 2, 3].map((i) => [`redis-${i}`, {
    cmd: ['redis-server', '--appendonly', 'yes', '--save', '60', '1000', '--maxmemory', '256mb'],
    mounts: ['volume redis-data:/data rw'],
    health: { test: ['CMD-SHELL', 'redis-cli ping | grep PONG'], interval: 5, timeout: 2, retries: 10 },
    host: { Sysctls: { 'net.core.somaxconn': '1024' }, Memory: 300 * M, NanoCpus: 0.5e9 },
  } satisfies Want])),
  resolver: {
    'app-1': {
      hostsFile: false,
      ports: [':8000->8000/tcp'],
      host: {
        ExtraHosts: ['ldap.corp.example.com:10.20.0.5', 'printer:10.20.0.9'], Dns: ['10.20.0.2', '10.20.0.3'], DnsSearch: ['corp.example.com'],
        DnsOptions: ['use-vc', 'ndots:2'],
      },
    },
  },
  'static-site': {
    // The engine's real httpd image: its own entrypoint (none), the file's command, its check turns healthy.
    'web-1': {
      cmd: ['httpd', '-f', '-p', '8080', '-h', '/www'],
      mounts: ['bind ./www:/www ro'],
      ports: [':8080->8080/tcp'],
      health: { test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/'], interval: 10, timeout: 2, retries: 3 },
      host: { Init: true },
    },
  },
  synapse: {
    'synapse-1': {
      env: { SYNAPSE_CONFIG_PATH: '/data/homeserver.yaml' },
      mounts: ['bind ./files:/data rw'],
      ports: [':8008->8008/tcp'],
      health: { test: ['CMD', 'curl', '-fSs', 'http://localhost:8008/health'], interval: 15, timeout: 5, retries: 3, startPeriod: 5 },
    },
    'db-1': {
      env: { POSTGRES_USER: 'synapse', POSTGRES_PASSWORD: 'STRONGPASSWORD', POSTGRES_INITDB_ARGS: '--encoding=UTF-8 --lc-collate=C --lc-ctype=C' },
      mounts: ['bind ./schemas:/var/lib/postgresql/data rw'],
    },
  },
  traefik: {
    'traefik-1': {
      cmd: ['--api.insecure=true', '--providers.docker=true', '--providers.docker.exposedbydefault=false', '--entrypoints.web.address=:80'],
      mounts: [`${DOCKER_SOCK} ro`],
      ports: [':80->80/tcp', '127.0.0.1:8080->8080/tcp'],
      host: { SecurityOpt: ['no-new-privileges:true'] },
    },
    ...Object.fromEntries([1, 2].map((i) => [`whoami-${i}`, {
      labels: { 'traefik.enable': 'true', 'traefik.http.routers.whoami.rule': 'Host(`whoami.example.com`)', 'traefik.http.routers.whoami.entrypoints': 'web' },
    } satisfies Want])),
  },
  'uptime-kuma': {
    'uptime-kuma-1': { mounts: ['volume uptime-kuma:/app/data rw'], ports: [':3001->3001/tcp'], health: 'none' },
  },
  vaultwarden: {
    vaultwarden: {
      env: { DOMAIN: 'https://vault.example.com', SIGNUPS_ALLOWED: 'false', WEBSOCKET_ENABLED: 'true' },
      mounts: ['bind ./vw-data:/data rw'],
      ports: ['127.0.0.1:8000->80/tcp'],
      host: { LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } } },
    },
  },
  'wiki-js': {
    'db-1': {
      env: { POSTGRES_DB: 'wiki', POSTGRES_PASSWORD: 'wikijsrocks', POSTGRES_USER: 'wikijs' },
      mounts: ['volume db-data:/var/lib/postgresql/data rw'],
      host: { LogConfig: { Type: 'none', Config: {} } },
    },
    'wiki-1': {
      env: { DB_TYPE: 'postgres', DB_HOST: 'db-1', DB_PORT: '5432', DB_USER: 'wikijs', DB_PASS: 'wikijsrocks', DB_NAME: 'wiki' },
      ports: ['127.0.0.1:80->3000/tcp'],
    },
  },
  woodpecker: {
    'woodpecker-server-1': {
      env: { WOODPECKER_OPEN: 'true', WOODPECKER_HOST: 'https://ci.example.com', WOODPECKER_AGENT_SECRET: 'replace-this' },
      mounts: ['volume woodpecker-server-data:/var/lib/woodpecker rw'],
      ports: [':8000->8000/tcp'],
    },
    'woodpecker-agent-1': {
      cmd: ['agent'],
      env: { WOODPECKER_SERVER: 'woodpecker-server-1:9000', WOODPECKER_AGENT_SECRET: 'replace-this' },
      mounts: ['volume woodpecker-agent-config:/etc/woodpecker rw', `${DOCKER_SOCK} rw`],
    },
  },
  'wordpress-mysql': {
    'db-1': {
      cmd: ['--default-authentication-plugin=mysql_native_password'],
      env: { MYSQL_ROOT_PASSWORD_FILE: '/run/secrets/db_root_password', MYSQL_DATABASE: 'wordpress', MYSQL_USER: 'wordpress', MYSQL_PASSWORD_FILE: '/run/secrets/db_password' },
      mounts: ['volume db_data:/var/lib/mysql rw', 'bind ./secrets/db_root_password.txt:/run/secrets/db_root_password ro', 'bind ./secrets/db_password.txt:/run/secrets/db_password ro'],
      expose: ['3306/tcp', '33060/tcp'],
      health: { test: ['CMD', 'mysqladmin', 'ping', '-h', '127.0.0.1', '--silent'], interval: 3, retries: 5, startPeriod: 30 },
    },
    'wordpress-1': {
      env: { WORDPRESS_DB_HOST: 'db-1', WORDPRESS_DB_USER: 'wordpress', WORDPRESS_DB_PASSWORD_FILE: '/run/secrets/db_password', WORDPRESS_DB_NAME: 'wordpress' },
      mounts: ['volume wp_content:/var/www/html/wp-content rw', 'bind ./secrets/db_password.txt:/run/secrets/db_password ro'],
      ports: [':8080->80/tcp'],
    },
  },
};
