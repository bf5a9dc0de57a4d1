"""A region pair on 127.0.0.1: the sandbox `drctl drill run` starts, disasters and tears down.

Region A (us-east-1): PostgreSQL 15 writer (WAL archived), its HTTP service. Region B (us-west-2): a streaming
standby of A, its HTTP service, Typesense. Both: moto's server (in this process) holding what the dr stack's
offline plan names, from the stack settings: the global cluster and both member clusters with their instances,
the hosted zone with the API record (failover routing) and a health check per region endpoint, the buckets and
tables of both regions, a CloudFront distribution, the alerts topic, B's EKS cluster and node group, B's ECR
images and the master secret's replica; and localstripe.

The runbooks reach it as they reach AWS, through AWS_ENDPOINT_URL: nothing in them knows it is a sandbox. What
must happen on the data plane does: the global cluster's role changes promote and demote the real servers
(`RegionPair` is the Aurora extension's data plane), the replication lag CloudWatch reports is what the writer's
pg_stat_replication says (sampled every `lag_sample_s`), health checks probe the services (dns.HealthEvaluator)
and the clients resolve the API name from the zone's record sets (dns.Resolver).

Everything started here is stopped on exit, whatever happened inside (an exception, Ctrl-C).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.core.paths import REPO_ROOT
from ops.drctl.sandbox import replication
from ops.drctl.sandbox.dns import ACCOUNT, HealthEvaluator, Resolver
from ops.drctl.sandbox.postgres import _owned_dir, free_port
from ops.drctl.sandbox.replication import PgNode

PROJECT_DIR = REPO_ROOT
IMAGE_MANIFEST = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
               "digest": "sha256:" + "0" * 64}, "layers": []})
AWS_ENV = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox", "AWS_SESSION_TOKEN": "sandbox",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "3"}


@dataclass(frozen=True)
class SandboxOptions:
    """The sandbox's own settings; every drill report states them."""

    health_interval_s: float = 0.1  # Route53: 10 or 30 s
    health_failure_threshold: int = 2  # Route53: 1-10, the stack uses 3
    resolver_max_ttl_s: float = 0.1  # clients re-resolve at least this often (the record's TTL is 60 s)
    lag_sample_s: float = 0.1  # how often the writer's pg_stat_replication is published as the lag metric
    promotion_delay_s: float = 0.0  # added to each role change: a deliberately slowed step
    with_search: bool = True  # Typesense in B
    with_stripe: bool = True  # localstripe
    with_base_backup: bool = False  # a base backup of A at the start, for point-in-time restores (Q1)
    posture: str | None = None  # B's posture (its row of ops/core/posture.py): None is the stack file's

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class ServiceProcess:
    region: str
    port: int
    dsn: str
    process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_DIR), os.environ.get("PYTHONPATH", "")])}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ops.drctl.sandbox.service", "--region", self.region, "--port", str(self.port),
             "--dsn", self.dsn], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            text=True, env=env, start_new_session=True)  # Ctrl-C reaches the drill, which stops it
        ready = threading.Event()
        threading.Thread(target=lambda: (self.process.stdout.readline(), ready.set()), daemon=True).start()  # type: ignore[union-attr]
        if not ready.wait(timeout) or self.process.poll() is not None:
            self.kill()
            raise RuntimeError(f"service for {self.region} did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Region:
    name: str
    cluster_id: str
    endpoint: str  # the origin name the API record points at
    node: PgNode
    service: ServiceProcess


@dataclass
class RegionPair:
    """Handles on a running pair; made by `region_pair()`."""

    settings: Any
    options: SandboxOptions
    base: Path
    aws_endpoint: str
    a: Region
    b: Region
    evaluator: HealthEvaluator
    resolver: Resolver
    search_url: str | None = None
    stripe_url: str | None = None
    topic_arn: str = ""
    restored: dict[str, PgNode] = field(default_factory=dict)  # restored cluster id -> its server
    events: list[dict[str, Any]] = field(default_factory=list)  # data-plane events for the timeline
    lag_samples: list[tuple[float, str, float]] = field(default_factory=list)  # (t, standby region, lag s)
    _stop: threading.Event = field(default_factory=threading.Event)

    # ---- lookups ------------------------------------------------------------------------------------------

    @property
    def api_name(self) -> str:
        return str(self.settings.dns.fqdn)

    def region(self, name_or_cluster: str) -> Region:
        for region in (self.a, self.b):
            if name_or_cluster in (region.name, region.cluster_id):
                return region
        raise LookupError(name_or_cluster)

    def writer(self) -> Region:
        return next(r for r in (self.a, self.b) if r.node.running() and r.node.primary is None)

    def server_logs(self, lines: int = 15) -> str:
        """The tail of each database's log, for a failed drill's error."""
        tails = []
        for region in (self.a, self.b):
            log = region.node.base / "server.log"
            text = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
            tails.append(f"--- {region.name} server.log\n" + "\n".join(text))
        return "\n".join(tails)

    def event(self, what: str, **detail: Any) -> None:
        self.events.append({"t": time.time(), "event": what, **detail})

    # ---- the data plane of the Aurora extension --------------------------------------------------------------

    def change_writer(self, source_cluster_id: str, target_cluster_id: str, *, data_loss: bool) -> None:
        source, target = self.region(source_cluster_id), self.region(target_cluster_id)
        if self.options.promotion_delay_s:
            time.sleep(self.options.promotion_delay_s)
        if data_loss:
            if source.node.running():  # AllowDataLoss while the old writer lives: isolate it first
                source.node.kill()
            detail = target.node.promote_at_replayed_point()
            self.event("promoted", region=target.name, mode="failover", **detail)
            return
        source.node.wait_streaming_to(target.node)  # a switchover synchronizes the secondary first
        source.node.fence()
        self.event("fenced", region=source.name)
        source.node.stop("fast")
        last = source.node.checkpoint_lsn()
        target.node.wait_sql(f"SELECT pg_last_wal_replay_lsn() > '{last}'::pg_lsn", timeout=30)
        target.node.promote()
        self.event("promoted", region=target.name, mode="switchover", at=last)
        source.node.restart_as_standby_of(target.node)
        self.event("demoted", region=source.name, standby_of=target.name)

    # ---- disasters and recovery --------------------------------------------------------------------------------

    def kill_region(self, name: str) -> dict[str, Any]:
        """SIGKILL a region's database and service (database first: a commit it acknowledged reaches the
        service, which answers before it dies)."""
        region = self.region(name)
        lag = self.current_lag()
        killed = region.node.kill()
        region.service.kill()
        self.event("killed", region=name, processes=len(killed) + 1, lag_s=lag)
        return {"killed_processes": len(killed) + 1, "replication_lag_at_kill_s": lag}

    def current_lag(self) -> float | None:
        try:
            lags = self.writer().node.replication_lag_seconds()
        except Exception:  # noqa: BLE001 (no writer or it does not answer: not measured)
            return None
        return max(lags.values()) if lags else None

    def recover_region(self, name: str, *, before_rejoin: Callable[[PgNode], None] | None = None) -> dict[str, Any]:
        """The region is back: its old writer's data comes up as it was left (crash recovery), `before_rejoin`
        sees it (e.g. to list what the failover lost), then it rejoins as a standby of the writer (pg_rewind) and
        its service starts. What AWS does when a failed-over region recovers."""
        region, writer = self.region(name), self.writer()
        if region.node.primary is None and region is not writer:
            region.node.write_conf()
            region.node.start()
            if before_rejoin is not None:
                before_rejoin(region.node)
            how = region.node.rebuild_as_standby_of(writer.node)
        else:
            how = "already a standby"
        writer.node.wait_streaming_to(region.node)
        if not region.service.alive:
            region.service.start()
        self.event("recovered", region=name, how=how)
        return {"rejoined_with": how}

    # ---- point-in-time restore (the data plane of the PITR extension) -------------------------------------------

    @property
    def base_backup_dir(self) -> Path:
        return self.base / "base-backup-a"

    def restore_point_in_time(self, new_cluster_id: str, moment: Any) -> None:
        """Region A's base backup + A's WAL archive, recovered to `moment`, as the restored cluster's server."""
        if not self.base_backup_dir.exists():
            raise RuntimeError("no base backup of region A (SandboxOptions.with_base_backup)")
        node = replication.new_node(new_cluster_id, self.base)
        self.restored[new_cluster_id] = node
        when = None if moment is None else moment.isoformat(sep=" ", timespec="microseconds")
        replication.point_in_time_restore(self.base_backup_dir, self.a.node.archive, node, when)
        self.event("restored", cluster=new_cluster_id, to=when, port=node.port)

    # ---- lag metric ------------------------------------------------------------------------------------------

    def _sample_lag(self) -> None:
        from moto.cloudwatch.models import cloudwatch_backends
        from moto.core.utils import utcnow  # moto compares naive UTC timestamps

        while not self._stop.wait(self.options.lag_sample_s):
            try:
                writer = self.writer()
                lags = writer.node.replication_lag_seconds()
            except Exception:  # noqa: BLE001 (between role changes, or the writer is dead: no sample)
                continue
            now = utcnow()
            for standby_name, lag in lags.items():
                standby = self.region(standby_name)
                self.lag_samples.append((time.time(), standby_name, lag))
                cloudwatch_backends[ACCOUNT][standby.name].put_metric_data("AWS/RDS", [{
                    "MetricName": "AuroraGlobalDBReplicationLag", "Value": lag * 1000.0, "Unit": "Milliseconds",
                    "Timestamp": now, "Dimensions": [{"Name": "DBClusterIdentifier",
                                                      "Value": standby.cluster_id}]}])


# ---- building it -------------------------------------------------------------------------------------------

def _setenv(values: dict[str, str]) -> Callable[[], None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)

    def restore() -> None:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return restore


def _build_aws(settings: Any, a: Region, b: Region) -> str:
    """The dr stack's resources in moto, named as the Pulumi program names them; returns the alerts topic ARN."""
    from ops.actions.aws import client
    from ops.core.naming import bucket_name
    from ops.core.posture import CacheB, capacity, node_group_max_size
    from ops.drctl.commands.failover import regional_images

    primary, dr = settings.primary_region, settings.dr_region
    global_id = settings.aurora.global_cluster_id
    rds_a, rds_b = client("rds", primary), client("rds", dr)
    rds_a.create_global_cluster(GlobalClusterIdentifier=global_id, Engine="aurora-postgresql",
                                EngineVersion=settings.aurora.engine_version, StorageEncrypted=True)
    rds_a.create_db_cluster(DBClusterIdentifier=a.cluster_id, GlobalClusterIdentifier=global_id,
                            Engine="aurora-postgresql", EngineVersion=settings.aurora.engine_version,
                            MasterUsername="dbadmin", MasterUserPassword="sandbox-only-1",
                            DatabaseName=settings.aurora.database_name, StorageEncrypted=True)
    rds_b.create_db_cluster(DBClusterIdentifier=b.cluster_id, GlobalClusterIdentifier=global_id,
                            Engine="aurora-postgresql", EngineVersion=settings.aurora.engine_version,
                            StorageEncrypted=True)
    # B starts as the posture table's row says, as `pulumi up` leaves it: pilot light headless and without nodes
    row = capacity(settings.posture, False, settings.aurora.instances, settings.compute.production())
    for rds, cluster_id, count in ((rds_a, a.cluster_id, row.aurora_instances_a),
                                   (rds_b, b.cluster_id, row.aurora_instances_b)):
        for n in range(count):
            rds.create_db_instance(DBInstanceIdentifier=f"{cluster_id}-{n}", DBClusterIdentifier=cluster_id,
                                   DBInstanceClass=settings.aurora.instance_class, Engine="aurora-postgresql")
    route53 = client("route53", primary)
    zone_id = route53.create_hosted_zone(Name=settings.dns.zone_name, CallerReference="sandbox-zone")[
        "HostedZone"]["Id"].split("/")[-1]
    checks = {}
    for region in (a, b):
        checks[region.name] = route53.create_health_check(CallerReference=f"sandbox-{region.endpoint}",
                                                          HealthCheckConfig={
            "IPAddress": "127.0.0.1", "Port": region.service.port, "Type": "HTTP",
            "ResourcePath": settings.dns.health_check_path, "FullyQualifiedDomainName": region.endpoint,
            "RequestInterval": 10, "FailureThreshold": 3})["HealthCheck"]["Id"]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": settings.dns.fqdn, "Type": "CNAME", "TTL": settings.dns.ttl, "SetIdentifier": ident,
            "Failover": role, "HealthCheckId": checks[region.name], "ResourceRecords": [{"Value": region.endpoint}]}}
        for ident, role, region in (("primary", "PRIMARY", a), ("secondary", "SECONDARY", b))]})
    for region in (primary, dr):
        s3, dynamodb = client("s3", region), client("dynamodb", region)
        for bucket in settings.buckets:
            name = bucket_name(bucket.name, region)
            config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=name, **config)
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        for table in settings.tables:
            dynamodb.create_table(TableName=table.name, BillingMode="PAY_PER_REQUEST",
                                  AttributeDefinitions=[{"AttributeName": table.hash_key, "AttributeType": "S"}],
                                  KeySchema=[{"AttributeName": table.hash_key, "KeyType": "HASH"}])
    client("cloudfront", primary).create_distribution(DistributionConfig={
        "CallerReference": "sandbox-cdn", "Comment": "api", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "api", "DomainName": settings.dns.fqdn,
                                              "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                                                     "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "api", "ViewerProtocolPolicy": "redirect-to-https",
                                 "MinTTL": 0, "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}}})
    topic_arn = client("sns", dr).create_topic(Name=f"dr-platform-replication-alerts-{dr}")["TopicArn"]
    eks = client("eks", dr)
    cluster_name = settings.names.eks_cluster(dr)
    eks.create_cluster(name=cluster_name, roleArn=f"arn:aws:iam::{ACCOUNT}:role/{cluster_name}-cluster",
                       resourcesVpcConfig={"subnetIds": ["subnet-b0", "subnet-b1", "subnet-b2"]})
    eks.create_nodegroup(clusterName=cluster_name, nodegroupName=settings.compute.nodegroup_name,
                         nodeRole=f"arn:aws:iam::{ACCOUNT}:role/{cluster_name}-node",
                         subnets=["subnet-b0", "subnet-b1", "subnet-b2"],
                         scalingConfig={"minSize": row.eks_nodes_b, "desiredSize": row.eks_nodes_b,
                                        "maxSize": node_group_max_size(row.eks_nodes_b, row.eks_max_nodes_b)})
    ecr = client("ecr", dr)
    for image in regional_images(settings):
        with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
            ecr.create_repository(repositoryName=image["repository"])
        ecr.put_image(repositoryName=image["repository"], imageManifest=IMAGE_MANIFEST, imageTag=image["reference"])
    if row.cache_b == CacheB.SECONDARY:
        _build_cache(settings, row.cache_nodes_a, row.cache_nodes_b)
    client("secretsmanager", dr).create_secret(Name=f"{global_id}/master", SecretString=json.dumps(
        {"username": "postgres", "password": "sandbox-trust-auth"}))
    return str(topic_arn)


def _build_cache(settings: Any, nodes_a: int, nodes_b: int) -> None:
    """A's replication group, the Global Datastore it is the primary of, and B's member (where the posture keeps
    one), named as the Pulumi program names them: what the failover and failback runbooks promote."""
    from ops.actions.aws import client
    from ops.core import cache, naming

    def group(region: str, nodes: int, **extra: Any) -> None:
        client("elasticache", region).create_replication_group(
            ReplicationGroupId=naming.cache_member_id(settings.cache.name, region), NumCacheClusters=nodes,
            ReplicationGroupDescription="dr-platform cache (sandbox)", Engine=cache.ENGINE,
            AutomaticFailoverEnabled=True, MultiAZEnabled=True, TransitEncryptionEnabled=True,
            AtRestEncryptionEnabled=True, **extra)

    primary, dr = settings.primary_region, settings.dr_region
    group(primary, nodes_a, CacheNodeType=settings.cache.node_type, EngineVersion=settings.cache.engine_version)
    global_id = client("elasticache", primary).create_global_replication_group(
        GlobalReplicationGroupIdSuffix=settings.cache.name,
        PrimaryReplicationGroupId=naming.cache_member_id(settings.cache.name, primary),
    )["GlobalReplicationGroup"]["GlobalReplicationGroupId"]
    group(dr, nodes_b, GlobalReplicationGroupId=global_id)


def _prepare_schema(node: PgNode, database: str) -> None:
    from ops.drctl.sandbox.service import SCHEMA

    with node.connect("postgres") as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    with node.connect(database) as conn:
        conn.execute(SCHEMA)


@contextlib.contextmanager
def region_pair(options: SandboxOptions | None = None, *, stack: str = "dr", parent: Path | None = None,
                on_ready: Callable[[dict[str, Any]], None] | None = None) -> Iterator[RegionPair]:
    """Start the pair, yield it, stop everything it started (also on error or Ctrl-C)."""
    from moto.server import ThreadedMotoServer

    from ops.drctl.commands.options import load_settings
    from ops.drctl.sandbox.moto_ext import install_all, rds_global, rds_pitr

    options = options or SandboxOptions()
    settings = load_settings(stack, [f"posture={options.posture}"] if options.posture else None)
    with contextlib.ExitStack() as stack_:
        base = _owned_dir(parent, "drsandbox-")
        stack_.callback(shutil.rmtree, base, ignore_errors=True)
        install_all()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        stack_.callback(server.stop)
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # moto's backends are per process: start from an empty account whatever ran here before
        import requests
        requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        stack_.callback(_setenv({**AWS_ENV, "AWS_ENDPOINT_URL": endpoint}))
        os.environ.pop("AWS_PROFILE", None)

        node_a = replication.new_node(settings.primary_region, base)
        stack_.callback(replication.remove_node, node_a)
        node_b = replication.new_node(settings.dr_region, base)
        stack_.callback(replication.remove_node, node_b)
        database = settings.aurora.database_name
        replication.init_primary(node_a)
        node_a.start()
        _prepare_schema(node_a, database)
        replication.base_backup(node_a, node_b)
        node_b.restart_as_standby_of(node_a)

        def region(name: str, node: PgNode, endpoint_name: str) -> Region:
            service = ServiceProcess(name, free_port(), node.dsn(database))
            return Region(name, settings.aurora.cluster_id(name), endpoint_name, node, service)

        a = region(settings.primary_region, node_a, settings.dns.primary_endpoint)
        b = region(settings.dr_region, node_b, settings.dns.dr_endpoint)
        for r in (a, b):
            r.service.start()
            stack_.callback(r.service.kill)
        node_b.wait_sql("SELECT count(*) = 2 FROM pg_tables WHERE tablename IN ('orders', 'heartbeats')",
                        dbname=database)
        topic_arn = _build_aws(settings, a, b)
        evaluator = HealthEvaluator(interval_s=options.health_interval_s,
                                    failure_threshold=options.health_failure_threshold).start()
        stack_.callback(evaluator.stop)
        pair = RegionPair(settings=settings, options=options, base=base, aws_endpoint=endpoint, a=a, b=b,
                          evaluator=evaluator, resolver=Resolver(evaluator, options.resolver_max_ttl_s),
                          topic_arn=topic_arn)
        rds_global.register_data_plane(settings.aurora.global_cluster_id, pair)
        stack_.callback(rds_global.unregister_data_plane, settings.aurora.global_cluster_id)
        if options.with_base_backup:
            replication.base_backup(node_a, pair.base_backup_dir)
            rds_pitr.register_restorer(a.cluster_id, pair.restore_point_in_time)
            stack_.callback(rds_pitr.unregister_restorer, a.cluster_id)
            stack_.callback(lambda: [replication.remove_node(n) for n in pair.restored.values()])
        sampler = threading.Thread(target=pair._sample_lag, name="lag-sampler", daemon=True)
        sampler.start()
        stack_.callback(sampler.join, 5)
        stack_.callback(pair._stop.set)
        if options.with_search:
            from ops.drctl.sandbox.typesense import typesense_server
            pair.search_url = stack_.enter_context(typesense_server()).url
        if options.with_stripe:
            from ops.drctl.sandbox.stripe import local_stripe
            pair.stripe_url = stack_.enter_context(local_stripe())
        if on_ready is not None:
            on_ready(describe(pair))
        yield pair


def describe(pair: RegionPair) -> dict[str, Any]:
    """Where everything listens (printed by `drctl drill run`, checked by the interruption test)."""
    return {"base": str(pair.base), "aws_endpoint": pair.aws_endpoint,
            "ports": {"postgres_a": pair.a.node.port, "postgres_b": pair.b.node.port,
                      "service_a": pair.a.service.port, "service_b": pair.b.service.port,
                      "moto": int(pair.aws_endpoint.rsplit(":", 1)[1]),
                      **({"typesense_b": int(pair.search_url.rsplit(":", 1)[1])} if pair.search_url else {}),
                      **({"stripe": int(pair.stripe_url.rsplit(":", 1)[1].split("/")[0])} if pair.stripe_url else {})}}
