// Creates Kafka topics idempotently in one JVM (TopicCommand starts a JVM per
// topic, which costs seconds each on this machine). Run by deploy/local/topics.sh
// in Java's single-file source mode:
//   java -cp 'jars/*' CreateTopics.java BOOTSTRAP PARTITIONS REPLICATION name[:k=v,k=v] ...
// An existing topic is left as it is; a differing partition count or
// cleanup.policy is reported on stderr (exit status 3) instead of changed.
import java.util.*;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;

public class CreateTopics {
    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: CreateTopics BOOTSTRAP PARTITIONS REPLICATION name[:k=v,...]...");
            System.exit(2);
        }
        int partitions = Integer.parseInt(args[1]);
        short replication = Short.parseShort(args[2]);
        Map<String, Map<String, String>> wanted = new LinkedHashMap<>();
        for (int i = 3; i < args.length; i++) {
            String[] nameCfg = args[i].split(":", 2);
            Map<String, String> cfg = new LinkedHashMap<>();
            if (nameCfg.length == 2 && !nameCfg[1].isEmpty()) {
                for (String kv : nameCfg[1].split(",")) {
                    String[] p = kv.split("=", 2);
                    if (p.length != 2) { System.err.println("bad config '" + kv + "'"); System.exit(2); }
                    cfg.put(p[0], p[1]);
                }
            }
            wanted.put(nameCfg[0], cfg);
        }
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        int status = 0;
        try (Admin admin = Admin.create(props)) {
            List<NewTopic> topics = new ArrayList<>();
            wanted.forEach((name, cfg) -> topics.add(new NewTopic(name, partitions, replication).configs(cfg)));
            CreateTopicsResult res = admin.createTopics(topics);
            List<String> existing = new ArrayList<>();
            for (Map.Entry<String, ?> e : res.values().entrySet()) {
                try {
                    res.values().get(e.getKey()).get();
                    System.out.println("topics: created '" + e.getKey() + "'");
                } catch (ExecutionException ex) {
                    if (ex.getCause() instanceof TopicExistsException) {
                        existing.add(e.getKey());
                    } else {
                        System.err.println("topics: cannot create '" + e.getKey() + "': " + ex.getCause());
                        status = 1;
                    }
                }
            }
            if (!existing.isEmpty()) status = Math.max(status, check(admin, existing, wanted, partitions));
        }
        System.exit(status);
    }

    private static int check(Admin admin, List<String> names, Map<String, Map<String, String>> wanted,
                             int partitions) throws Exception {
        int status = 0;
        Map<String, TopicDescription> desc = admin.describeTopics(names).allTopicNames().get();
        List<ConfigResource> rs = new ArrayList<>();
        for (String n : names) rs.add(new ConfigResource(ConfigResource.Type.TOPIC, n));
        Map<ConfigResource, Config> cfgs = admin.describeConfigs(rs).all().get();
        for (String n : names) {
            int have = desc.get(n).partitions().size();
            String note = "";
            if (have != partitions) note += " partitions " + have + " (wanted " + partitions + ")";
            Config c = cfgs.get(new ConfigResource(ConfigResource.Type.TOPIC, n));
            for (Map.Entry<String, String> kv : wanted.get(n).entrySet()) {
                ConfigEntry ce = c.get(kv.getKey());
                String v = ce == null ? null : ce.value();
                if (!kv.getValue().equals(v)) {
                    note += " " + kv.getKey() + "=" + v + " (wanted " + kv.getValue() + ")";
                    status = 3;
                }
            }
            if (have < partitions) status = 3;
            if (note.isEmpty()) System.out.println("topics: exists '" + n + "'");
            else System.err.println("topics: exists '" + n + "' but differs:" + note);
        }
        return status;
    }
}
