// Test helper for tests/kafka/real-broker.sh: the few admin calls the e2e
// tests need against a real Apache Kafka broker, in one JVM start each,
// through the Kafka Java client that comes with the broker's jars.
//
//   wait   BOOT SECS                     until the cluster answers (exit 1 on timeout)
//   create BOOT RF DEFAULT_PARTS SPEC... create topics; SPEC = name[:parts[:k=v;k=v...]]
//   leader BOOT TOPIC PARTITION          print the partition's leader node id
//   count  BOOT TOPIC                    records of TOPIC a read_committed consumer sees
//                                        (group-less, from the start to the end offsets)
//   delete BOOT TOPIC...                 delete topics; an absent topic is not an error
//
// Optional client properties (SASL for instance) come from the file named by
// the environment variable VIGIL_KAFKA_ADMIN_PROPS. Exit 0 on success, 1 on
// any error (printed to stderr with the topic concerned), 2 on usage errors.
import java.io.FileReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class VigilKafkaAdmin {
  private static Properties props(String boot) throws Exception {
    Properties p = new Properties();
    String extra = System.getenv("VIGIL_KAFKA_ADMIN_PROPS");
    if (extra != null && !extra.isEmpty()) {
      try (FileReader r = new FileReader(extra)) {
        p.load(r);
      }
    }
    p.put("bootstrap.servers", boot);
    // generous: a loaded 2-core machine (asan runs, other JVMs) can take a
    // while to serve the first CreateTopics after start
    p.put("request.timeout.ms", "15000");
    p.put("default.api.timeout.ms", "60000");
    return p;
  }

  private static int waitCluster(String boot, int secs) throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(secs);
    try (Admin a = Admin.create(props(boot))) {
      while (System.nanoTime() < end) {
        try {
          int n = a.describeCluster().nodes().get(2, TimeUnit.SECONDS).size();
          if (n > 0) {
            System.out.println("brokers=" + n);
            return 0;
          }
        } catch (Exception e) {
          // not up yet
        }
        Thread.sleep(200);
      }
    }
    System.err.println("kafka at " + boot + " did not answer within " + secs + " s");
    return 1;
  }

  private static int create(String boot, short rf, int defParts, List<String> specs)
      throws Exception {
    List<NewTopic> topics = new ArrayList<>();
    for (String s : specs) {
      String[] f = s.split(":", 3);
      int parts = f.length > 1 && !f[1].isEmpty() ? Integer.parseInt(f[1]) : defParts;
      NewTopic t = new NewTopic(f[0], parts, rf);
      if (f.length > 2) {
        Map<String, String> cfg = new HashMap<>();
        for (String kv : f[2].split(";")) {
          String[] p = kv.split("=", 2);
          if (p.length != 2) {
            System.err.println("topic " + f[0] + ": bad config '" + kv + "' (want k=v)");
            return 2;
          }
          cfg.put(p[0], p[1]);
        }
        t.configs(cfg);
      }
      topics.add(t);
    }
    int rc = 0;
    try (Admin a = Admin.create(props(boot))) {
      for (Map.Entry<String, org.apache.kafka.common.KafkaFuture<Void>> e :
          a.createTopics(topics).values().entrySet()) {
        try {
          e.getValue().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException ex) {
          if (ex.getCause() instanceof TopicExistsException) continue;
          System.err.println("topic " + e.getKey() + ": " + ex.getCause());
          rc = 1;
        }
      }
      // wait until every partition has a leader (producers and consumers
      // started right after this get metadata without leader-not-available)
      List<String> names = new ArrayList<>();
      for (NewTopic t : topics) names.add(t.name());
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (rc == 0) {
        boolean ok = true;
        try {
          for (TopicDescription d :
              a.describeTopics(names).allTopicNames().get(10, TimeUnit.SECONDS).values())
            for (org.apache.kafka.common.TopicPartitionInfo pi : d.partitions())
              if (pi.leader() == null || pi.leader().id() < 0) ok = false;
        } catch (ExecutionException ex) {
          ok = false;
        }
        if (ok) break;
        if (System.nanoTime() > end) {
          System.err.println("topics " + names + ": partitions without a leader after 30 s");
          return 1;
        }
        Thread.sleep(100);
      }
    }
    return rc;
  }

  private static int leader(String boot, String topic, int part) throws Exception {
    try (Admin a = Admin.create(props(boot))) {
      TopicDescription d =
          a.describeTopics(Collections.singletonList(topic))
              .allTopicNames()
              .get(10, TimeUnit.SECONDS)
              .get(topic);
      if (part < 0 || part >= d.partitions().size()) {
        System.err.println("topic " + topic + ": no partition " + part);
        return 1;
      }
      org.apache.kafka.common.Node n = d.partitions().get(part).leader();
      System.out.println(n == null ? -1 : n.id());
      return 0;
    }
  }

  private static int count(String boot, String topic) throws Exception {
    Properties p = props(boot);
    p.put("isolation.level", "read_committed");
    p.put("enable.auto.commit", "false");
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (org.apache.kafka.common.PartitionInfo pi : c.partitionsFor(topic, Duration.ofSeconds(10)))
        tps.add(new TopicPartition(topic, pi.partition()));
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> end = c.endOffsets(tps); // the LSO under read_committed
      long n = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (System.nanoTime() < deadline) {
        boolean done = true;
        for (TopicPartition tp : tps) if (c.position(tp) < end.get(tp)) done = false;
        if (done) {
          System.out.println(n);
          return 0;
        }
        ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(200));
        n += rs.count();
      }
      System.err.println("topic " + topic + ": not read to its end offsets within 30 s");
      return 1;
    }
  }

  private static int delete(String boot, List<String> topics) throws Exception {
    int rc = 0;
    try (Admin a = Admin.create(props(boot))) {
      for (Map.Entry<String, org.apache.kafka.common.KafkaFuture<Void>> e :
          a.deleteTopics(topics).topicNameValues().entrySet()) {
        try {
          e.getValue().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException ex) {
          if (ex.getCause() instanceof UnknownTopicOrPartitionException) continue;
          System.err.println("topic " + e.getKey() + ": " + ex.getCause());
          rc = 1;
        }
      }
    }
    return rc;
  }

  public static void main(String[] args) throws Exception {
    int rc = 2;
    try {
      if (args.length == 3 && args[0].equals("wait")) rc = waitCluster(args[1], Integer.parseInt(args[2]));
      else if (args.length >= 4 && args[0].equals("create"))
        rc =
            create(
                args[1],
                Short.parseShort(args[2]),
                Integer.parseInt(args[3]),
                List.of(args).subList(4, args.length));
      else if (args.length == 4 && args[0].equals("leader"))
        rc = leader(args[1], args[2], Integer.parseInt(args[3]));
      else if (args.length == 3 && args[0].equals("count")) rc = count(args[1], args[2]);
      else if (args.length >= 3 && args[0].equals("delete"))
        rc = delete(args[1], List.of(args).subList(2, args.length));
      else
        System.err.println("usage: VigilKafkaAdmin wait|create|leader|count|delete ... (see the source)");
    } catch (Exception e) {
      System.err.println("VigilKafkaAdmin " + args[0] + ": " + e);
      rc = 1;
    }
    System.exit(rc);
  }
}
