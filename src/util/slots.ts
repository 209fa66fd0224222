/**
 * A counting limit on work that runs at once (workflow processes across every backend of a
 * run): each job takes a weight (a two-process DDP run takes two) and waits, first come first
 * served, until that many slots are free. A job heavier than the whole limit takes all slots.
 */
export class Slots {
  readonly size: number;
  private free: number;
  private readonly waiting: { weight: number; go: () => void }[] = [];

  constructor(size: number) {
    this.size = this.free = Math.max(1, Math.floor(size));
  }

  async run<T>(weight: number, job: () => Promise<T>): Promise<T> {
    const w = Math.min(Math.max(1, Math.floor(weight)), this.size);
    await this.take(w);
    try {
      return await job();
    } finally {
      this.free += w;
      this.wake();
    }
  }

  private take(w: number): Promise<void> {
    // FIFO: a heavy job at the head is not overtaken by light ones (it would starve).
    if (this.waiting.length === 0 && this.free >= w) {
      this.free -= w;
      return Promise.resolve();
    }
    return new Promise((go) => this.waiting.push({ weight: w, go }));
  }

  private wake(): void {
    while (this.waiting.length > 0 && this.free >= this.waiting[0]!.weight) {
      const next = this.waiting.shift()!;
      this.free -= next.weight;
      next.go();
    }
  }
}
