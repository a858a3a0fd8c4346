#!/usr/bin/env bash
# Writes one sample lake file per kind (spans, logs, metrics, trace index) with the archiver's own Parquet writer,
# then reads them with Apache Spark in-process (master local[1], no cluster, no Hadoop installation) and checks types
# and values (tools/compat/spark, io.otellake.compat.SparkRead). A manual check, not part of ./mvnw verify: it
# downloads Spark from Maven Central on first use (230-300 MB of jars). See docs/schema.md, "Readers we checked".
#
# Usage: tools/compat/check-spark.sh [output directory]   (default: a new temporary directory)
#   SPARK_PROFILE=spark-4.0 tools/compat/check-spark.sh      checks Spark 4.0 instead of Spark 3.5
#   SPARK_JAVA_OPTS='-Xmx2g' ...                              JVM options for Spark (default: -Xmx1g)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$(mktemp -d -t otel-lake-compat.XXXXXX)}"

cd "$root"
./mvnw -q -pl archiver -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile=target/compat-classpath.txt
java -cp "archiver/target/test-classes:archiver/target/classes:$(cat archiver/target/compat-classpath.txt)" \
  io.otellake.archiver.compat.SampleLake "$out"

# Spark is a standalone project (not a module of the root reactor); it runs with its own classpath.
spark="$here/spark"
profile=()
build="$spark/target"
if [[ -n "${SPARK_PROFILE:-}" ]]; then
  profile=("-P$SPARK_PROFILE")
  build="$spark/target/$SPARK_PROFILE" # a profile builds into its own folder (pom.xml)
fi
./mvnw -q -f "$spark/pom.xml" "${profile[@]}" compile dependency:build-classpath \
  -Dmdep.outputFile="$build/classpath.txt"

# The module opens Spark needs on Java 17 (as Spark's own launcher sets them: JavaModuleOptions).
opens=(
  -XX:+IgnoreUnrecognizedVMOptions
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/sun.nio.cs=ALL-UNNAMED
  --add-opens=java.base/sun.security.action=ALL-UNNAMED
  --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
  -Djdk.reflect.useDirectMethodHandle=false
  -Dio.netty.tryReflectionSetAccessible=true
)
# shellcheck disable=SC2086 # SPARK_JAVA_OPTS is a list of options
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}" # local[1] needs no network; stay on the loopback
java ${SPARK_JAVA_OPTS:--Xmx1g} "${opens[@]}" \
  -cp "$build/classes:$(cat "$build/classpath.txt")" \
  io.otellake.compat.SparkRead "$out"
