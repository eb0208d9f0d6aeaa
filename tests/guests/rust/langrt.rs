// What a Rust program's std asks of the kernel and the ABI, one part per line of output (the same on any
// target): threads (clone, futex-based Mutex and channels, atomics), TCP over loopback, a panic unwound through
// i386 frames by libgcc_s's DWARF unwinder and caught at join, std::process (posix_spawn or fork+exec, pipes,
// wait), u64 and f64 arithmetic, formatting. Built for i686-unknown-linux-gnu for the guest and for the host;
// both must print the same.
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;

fn main() {
    if std::env::args().nth(1).as_deref() == Some("child") {
        println!("child says hello");
        std::process::exit(5);
    }
    let counter = Arc::new(AtomicU64::new(0));
    let shared = Arc::new(Mutex::new(HashMap::new()));
    let (tx, rx) = mpsc::channel();
    let mut hs = Vec::new();
    for t in 0..8u64 {
        let (c, s, tx) = (counter.clone(), shared.clone(), tx.clone());
        hs.push(thread::spawn(move || {
            for i in 0..50_000u64 {
                c.fetch_add(i % 7, Ordering::Relaxed);
                if i % 1000 == 0 {
                    *s.lock().unwrap().entry(i % 13).or_insert(0u64) += t;
                }
            }
            tx.send(t).unwrap();
        }));
    }
    drop(tx);
    for h in hs {
        h.join().unwrap();
    }
    let mut got: Vec<u64> = rx.iter().collect();
    got.sort();
    let m = shared.lock().unwrap();
    let mut keys: Vec<_> = m.iter().map(|(k, v)| (*k, *v)).collect();
    keys.sort();
    println!("threads {:?} sum {} map {:?}", got, counter.load(Ordering::SeqCst), keys);
    drop(m);

    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let srv = thread::spawn(move || {
        for _ in 0..4 {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).unwrap();
            buf[..n].reverse();
            s.write_all(&buf[..n]).unwrap();
        }
    });
    let mut replies = Vec::new();
    for word in ["ping", "compat32", "i386", "sysenter"] {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(word.as_bytes()).unwrap();
        let mut s = String::new();
        c.read_to_string(&mut s).unwrap();
        replies.push(s);
    }
    srv.join().unwrap();
    println!("tcp {:?}", replies);

    let r = thread::spawn(|| {
        let v: Vec<u32> = Vec::new();
        v[3]
    })
    .join();
    println!("panic caught {}", r.is_err());

    let me = std::env::current_exe().unwrap();
    let out = Command::new(me).arg("child").output().unwrap();
    println!("exec {:?} {:?}", String::from_utf8_lossy(&out.stdout), out.status.code());
    let sh = Command::new("/bin/sh").args(["-c", "echo from-sh; exit 7"]).output().unwrap();
    println!("sh {:?} {:?}", String::from_utf8_lossy(&sh.stdout).trim(), sh.status.code());

    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut f = 0.0f64;
    for i in 1..100_000u64 {
        x = x.rotate_left(7) ^ (x / i);
        f += (i as f64).sqrt();
    }
    println!("math {:016x} {:.3} {:e}", x, f, (x as f64) / 3.0);
    std::process::exit(3);
}
