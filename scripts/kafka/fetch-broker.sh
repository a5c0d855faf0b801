#!/usr/bin/env bash
# Fetches the Apache Kafka broker (kafka_2.13 and its runtime dependencies, plus a
# log4j2 binding) from Maven Central into a per-version cache outside the repo:
#   ${KUBETRIAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubetriage}/kafka-<ver>/libs
# Usage: scripts/kafka/fetch-broker.sh [VERSION]   (default 4.1.1; env KAFKA_VERSION too)
# Prints the libs directory on stdout; progress goes to stderr. Idempotent: a
# completed fetch leaves a stamp file and later runs return immediately.
set -euo pipefail

KAFKA_VERSION="${1:-${KAFKA_VERSION:-4.1.1}}"
LOG4J_VERSION="${KAFKA_LOG4J_VERSION:-2.25.2}"
# kafka_2.13's pom asks for slf4j-api 1.7.36, which cannot see an SLF4J 2 provider;
# pin 2.x (binary compatible with 1.7 callers) so log4j-slf4j2-impl is picked up.
SLF4J_VERSION="2.0.17"
KT_CACHE="${KUBETRIAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubetriage}"
DEST="$KT_CACHE/kafka-$KAFKA_VERSION"
LIBS="$DEST/libs"
STAMP="$DEST/.fetched"
WANT="kafka_2.13:$KAFKA_VERSION log4j:$LOG4J_VERSION slf4j:$SLF4J_VERSION"

log() { printf '[fetch-broker] %s\n' "$*" >&2; }

case "$KAFKA_VERSION" in
  *[!0-9A-Za-z.-]* | "") log "bad Kafka version: '$KAFKA_VERSION'"; exit 2 ;;
esac

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -d "$LIBS" ]; then
  echo "$LIBS"
  exit 0
fi

command -v mvn >/dev/null 2>&1 || { log "mvn not found (need Maven 3 + Java 17)"; exit 1; }
command -v java >/dev/null 2>&1 || { log "java not found (need Java 17+)"; exit 1; }

mkdir -p "$DEST"
# Serialize concurrent fetches of the same version.
exec 9>"$DEST/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -d "$LIBS" ]; then
  echo "$LIBS"
  exit 0
fi

log "fetching Kafka $KAFKA_VERSION (kafka_2.13) + log4j $LOG4J_VERSION from Maven Central into $LIBS"
start=$(date +%s)

cat > "$DEST/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.kubetriage.test</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-api</artifactId>
      <version>$SLF4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j2-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM

rm -rf "$LIBS.tmp"
# Debian's Maven 3.8 prints bare ANSI resets even in quiet batch mode; strip them.
if ! mvn -q -B -Dstyle.color=never -f "$DEST/pom.xml" \
    dependency:copy-dependencies \
    -DincludeScope=runtime \
    -DoutputDirectory="$LIBS.tmp" 2>&1 \
    | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
  log "mvn dependency:copy-dependencies failed for Kafka $KAFKA_VERSION"
  rm -rf "$LIBS.tmp"
  exit 1
fi
ls "$LIBS.tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || { log "kafka_2.13 jar missing after fetch"; exit 1; }
rm -rf "$LIBS"
mv "$LIBS.tmp" "$LIBS"
echo "$WANT" > "$STAMP"
log "fetched $(ls "$LIBS" | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) in $(( $(date +%s) - start ))s"
echo "$LIBS"
